// The chat's Manager: members, rooms, history, broadcast.
#include "manager.hpp"

#include <algorithm>

#include "event.hpp"
#include "frame.hpp"
#include "permessage_deflate.hpp"

namespace ws {

namespace {

// A complete server frame (text, unmasked) for an event, ready to be shared.
SharedFrame text_frame(const std::string& text) {
  return std::make_shared<const std::string>(encode_frame(Opcode::kText, text));
}

// An event for one member, who compresses it itself if it agreed to.
Broadcast event_for_one(const std::string& text) { return {text_frame(text), nullptr}; }

// Hands the event `text` to every member of `members` that `wanted` accepts: one delivery per
// event loop, carrying the ids of its receivers. The frame is encoded once, and compressed once
// more if any receiver takes shared compressed frames: with the smallest window among them, which
// every one of them can inflate (RFC 7692 §7.1.2.1). A full queue closes that member; nothing else
// to do here.
template <typename Wanted>
void fan_out(const std::vector<Member*>& members, const std::string& text, Wanted wanted) {
  std::vector<std::pair<FrameSink*, std::vector<std::uint64_t>>> per_loop;  // a handful of loops
  int deflate_bits = 0;
  for (const Member* member : members) {
    if (!wanted(*member)) {
      continue;
    }
    if (member->shared_deflate_bits != 0 &&
        (deflate_bits == 0 || member->shared_deflate_bits < deflate_bits)) {
      deflate_bits = member->shared_deflate_bits;
    }
    auto loop = std::find_if(per_loop.begin(), per_loop.end(),
                             [member](const auto& entry) { return entry.first == member->sink; });
    if (loop == per_loop.end()) {
      loop = per_loop.insert(per_loop.end(), {member->sink, {}});
    }
    loop->second.push_back(member->id);
  }
  if (per_loop.empty()) {
    return;
  }
  Broadcast broadcast{text_frame(text), nullptr};
  if (deflate_bits != 0) {
    // A message that compression does not shrink goes plain to those members too.
    const std::string compressed = compress_once(text, deflate_bits);
    broadcast.deflated = compressed.size() < text.size()
                             ? std::make_shared<const std::string>(
                                   encode_compressed_frame(Opcode::kText, compressed))
                             : broadcast.plain;
  }
  for (auto& [sink, ids] : per_loop) {
    sink->deliver(std::move(ids), broadcast);
  }
}

void fan_out(const std::vector<Member*>& members, const std::string& text) {
  fan_out(members, text, [](const Member& /*member*/) { return true; });
}

}  // namespace

Manager::Manager() : Manager(local_broker()) {}

Manager::Manager(Broker& broker) : broker_(broker) {}

Broker& Manager::local_broker() {
  static LocalBroker broker;  // stateless: one serves every Manager that shares nothing
  return broker;
}

std::vector<std::string> Manager::member_names(const Room& room) {
  std::vector<std::string> names;
  names.reserve(room.members.size());
  for (const Member* member : room.members) {
    names.push_back(member->username);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void Manager::join(Member& member, const std::string& room_name) {
  const std::unique_lock rooms_lock(rooms_mutex_);
  if (!member.room.empty()) {
    leave_locked(member);
  } else {
    ++member_count_;
  }
  auto& slot = rooms_[room_name];
  if (!slot) {
    slot = std::make_shared<Room>();
  }
  Room& room = *slot;
  const std::lock_guard room_lock(room.mutex);
  room.members.push_back(&member);
  member.room = room_name;

  // The history every server shows (the broker's), or this server's own. Read under the room's
  // lock: a message from another server that is in this history and also arrives live is
  // recognised by its (origin, sequence) and not delivered to this member a second time.
  nlohmann::json history = nlohmann::json::array();
  member.history_floor.clear();
  if (auto shared = broker_.history(room_name)) {
    for (auto& message : *shared) {
      auto& floor = member.history_floor[message.origin];
      floor = std::max(floor, message.sequence);
      history.push_back(std::move(message.message));
    }
  } else {
    for (const auto& message : room.history) {
      history.push_back(message);
    }
  }
  member.sink->deliver(
      {member.id}, event_for_one(encode_event("room_changed", {{"room", room_name},
                                                               {"members", member_names(room)},
                                                               {"history", std::move(history)}})));

  const std::string presence = encode_event(
      "presence", {{"room", room_name}, {"user", member.username}, {"action", "joined"}});
  fan_out(room.members, presence, [&member](const Member& other) { return &other != &member; });
}

void Manager::leave(Member& member) {
  const std::unique_lock rooms_lock(rooms_mutex_);
  if (!member.room.empty()) {
    leave_locked(member);
    --member_count_;
  }
}

void Manager::leave_locked(Member& member) {
  const auto found = rooms_.find(member.room);
  if (found == rooms_.end()) {
    member.room.clear();
    return;
  }
  Room& room = *found->second;
  {
    const std::lock_guard room_lock(room.mutex);
    std::erase(room.members, &member);
    const std::string presence = encode_event(
        "presence", {{"room", member.room}, {"user", member.username}, {"action", "left"}});
    fan_out(room.members, presence);
  }
  if (room.members.empty()) {
    rooms_.erase(found);  // safe: we hold rooms_mutex_ exclusively, nobody else can see the room
  }
  member.room.clear();
}

void Manager::broadcast(const Member& member, const std::string& message,
                        std::chrono::system_clock::time_point sent) {
  const std::shared_lock rooms_lock(rooms_mutex_);
  const auto found = rooms_.find(member.room);
  if (found == rooms_.end()) {
    return;
  }
  Room& room = *found->second;
  const std::lock_guard room_lock(room.mutex);
  nlohmann::json payload = new_message_payload(message, member.username, member.room, sent);
  // Encoded once (and compressed once): server frames are not masked, so every receiver of a
  // kind gets the very same bytes.
  fan_out(room.members, encode_event("new_message", payload));
  // Then to the other servers, still under the room's lock: they get this room's messages from
  // this server in the order its own members did. If they cannot be reached the message stays
  // here (the members were told when the link was lost).
  broker_.publish(member.room, payload);
  room.history.push_back(std::move(payload));
  if (room.history.size() > kHistorySize) {
    room.history.pop_front();
  }
}

void Manager::deliver_remote(const std::string& room_name, const SharedMessage& shared) {
  const std::shared_lock rooms_lock(rooms_mutex_);
  const auto found = rooms_.find(room_name);
  if (found == rooms_.end()) {
    return;  // no member of this room on this server
  }
  Room& room = *found->second;
  const std::lock_guard room_lock(room.mutex);
  auto& last = room.last_remote[shared.origin];
  if (shared.sequence <= last) {
    return;  // a repeat, or older than one already delivered: never twice, never backwards
  }
  last = shared.sequence;
  fan_out(room.members, encode_event("new_message", shared.message),
          [&shared](const Member& receiver) {
            // Not to a member who was shown it in the history on joining.
            const auto floor = receiver.history_floor.find(shared.origin);
            return floor == receiver.history_floor.end() || shared.sequence > floor->second;
          });
  room.history.push_back(shared.message);
  if (room.history.size() > kHistorySize) {
    room.history.pop_front();
  }
}

void Manager::link_changed(bool up) {
  if (up) {
    return;  // logged by the broker; rooms are whole again for every message from now on
  }
  const std::string notice(error_event(
      "lost the connection to the other chat servers: messages reach only the users of this "
      "server until it is back"));
  const std::shared_lock rooms_lock(rooms_mutex_);
  for (const auto& [name, room] : rooms_) {
    const std::lock_guard room_lock(room->mutex);
    fan_out(room->members, notice);
  }
}

nlohmann::json Manager::rooms() const {
  const std::shared_lock rooms_lock(rooms_mutex_);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, room] : rooms_) {  // std::map: already sorted by name
    const std::lock_guard room_lock(room->mutex);
    list.push_back({{"name", name}, {"members", member_names(*room)}});
  }
  return {{"rooms", std::move(list)}};
}

std::size_t Manager::member_count() const {
  const std::shared_lock rooms_lock(rooms_mutex_);
  return member_count_;
}

}  // namespace ws

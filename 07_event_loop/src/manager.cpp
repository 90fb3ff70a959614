// The chat's Manager: members, rooms, history, broadcast.
#include "manager.hpp"

#include <algorithm>

#include "event.hpp"
#include "frame.hpp"

namespace ws {

namespace {

// A complete server frame (text, unmasked) for an event, ready to be shared.
SharedFrame text_frame(const std::string& text) {
  return std::make_shared<const std::string>(encode_frame(Opcode::kText, text));
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

bool Manager::join(Member& member, const std::string& room_name) {
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
  const bool accepted = member.egress->push(text_frame(encode_event(
      "room_changed",
      {{"room", room_name}, {"members", member_names(room)}, {"history", std::move(history)}})));

  const SharedFrame presence = text_frame(encode_event(
      "presence", {{"room", room_name}, {"user", member.username}, {"action", "joined"}}));
  for (Member* other : room.members) {
    if (other != &member) {
      other->egress->push(presence);  // a full queue closes that member; nothing else to do
    }
  }
  return accepted;
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
    const SharedFrame presence = text_frame(encode_event(
        "presence", {{"room", member.room}, {"user", member.username}, {"action", "left"}}));
    for (Member* other : room.members) {
      other->egress->push(presence);
    }
  }
  if (room.members.empty()) {
    rooms_.erase(found);  // safe: we hold rooms_mutex_ exclusively, nobody else can see the room
  }
  member.room.clear();
}

std::size_t Manager::broadcast(const Member& member, const std::string& message,
                               std::chrono::system_clock::time_point sent) {
  const std::shared_lock rooms_lock(rooms_mutex_);
  const auto found = rooms_.find(member.room);
  if (found == rooms_.end()) {
    return 0;
  }
  Room& room = *found->second;
  const std::lock_guard room_lock(room.mutex);
  nlohmann::json payload = new_message_payload(message, member.username, member.room, sent);
  // Encoded once: server frames are not masked, so every receiver gets the very same bytes.
  const SharedFrame frame = text_frame(encode_event("new_message", payload));
  std::size_t refused = 0;
  for (Member* receiver : room.members) {
    if (!receiver->egress->push(frame)) {
      ++refused;
    }
  }
  // Then to the other servers, still under the room's lock: they get this room's messages from
  // this server in the order its own members did. If they cannot be reached the message stays
  // here (the members were told when the link was lost).
  broker_.publish(member.room, payload);
  room.history.push_back(std::move(payload));
  if (room.history.size() > kHistorySize) {
    room.history.pop_front();
  }
  return refused;
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
  const SharedFrame frame = text_frame(encode_event("new_message", shared.message));
  for (Member* receiver : room.members) {
    const auto floor = receiver->history_floor.find(shared.origin);
    if (floor != receiver->history_floor.end() && shared.sequence <= floor->second) {
      continue;  // it was in the history this member was shown on joining
    }
    receiver->egress->push(frame);  // a full queue closes that member; nothing else to do
  }
  room.history.push_back(shared.message);
  if (room.history.size() > kHistorySize) {
    room.history.pop_front();
  }
}

void Manager::link_changed(bool up) {
  if (up) {
    return;  // logged by the broker; rooms are whole again for every message from now on
  }
  const SharedFrame notice = text_frame(error_event(
      "lost the connection to the other chat servers: messages reach only the users of this "
      "server until it is back"));
  const std::shared_lock rooms_lock(rooms_mutex_);
  for (const auto& [name, room] : rooms_) {
    const std::lock_guard room_lock(room->mutex);
    for (Member* member : room->members) {
      member->egress->push(notice);
    }
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

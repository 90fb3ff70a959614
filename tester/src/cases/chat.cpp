// Cases for the chat's wire behaviour (05_chat/README.md, "The event protocol" and "Delivery,
// order, and slow consumers"): every message is a JSON event {"type", "payload"}; rooms, one
// order per room, history on joining, error events for bad input, 1009 above the size limit.
// Each case works in rooms of its own (random names), so earlier cases and runs do not interfere.
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

using nlohmann::json;

// How long a member that must not receive a message watches for it.
constexpr auto kQuietWindow = 500ms;

const Login& the_login() {
  if (!target().login) {
    throw Skipped("the target has no login (not a chat stage)");
  }
  return *target().login;
}

// `tag` prefixed with 8 random hex digits: a room (1-32 of A-Z a-z 0-9 _ -) or a message that
// no other case or run uses.
std::string unique(std::string_view tag) {
  std::random_device random;
  std::string out = "t";
  for (int i = 0; i < 8; ++i) {
    out += "0123456789abcdef"[random() % 16];
  }
  return out + "-" + std::string(tag);
}

std::string event_text(std::string_view type, const json& payload) {
  return json{{"type", type}, {"payload", payload}}.dump();
}

// The string field `name` of `object`, or "" when it is missing or not a string.
std::string field(const json& object, const char* name) {
  const auto found = object.is_object() ? object.find(name) : object.end();
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

// One chat client: a recording session logged in as the run's user, and how far its events
// have been read.
class Member {
 public:
  explicit Member(std::string name) : name_(std::move(name)) {}

  Session& session() { return session_; }

  void send_event(std::string_view type, const json& payload) {
    session_.send(text_frame(event_text(type, payload)));
  }
  void say(const std::string& message) { send_event("send_message", {{"message", message}}); }

  // Returns the payload of the next event of `type` (after those already read) that `match`
  // accepts, skipping every other event (presence, other messages); nullopt if none arrives
  // before `deadline` or the server closes. A message that is not a JSON event fails the case.
  std::optional<json> next(std::string_view type, Deadline deadline,
                           const std::function<bool(const json&)>& match = {}) {
    while (true) {
      const auto& events = session_.observation().events;
      while (read_ < events.size()) {
        const Event& event = events[read_++];
        if (event.kind != Event::Kind::kText) {
          continue;
        }
        const json parsed = json::parse(event.payload, nullptr, false);
        if (!parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string()) {
          throw std::runtime_error(
              name_ + " received a message that is not a JSON event: " + preview(event.payload));
        }
        const json payload = parsed.contains("payload") ? parsed["payload"] : json::object();
        if (parsed["type"] == type && (!match || match(payload))) {
          return payload;
        }
      }
      if (!session_.observation().server_violation.empty()) {
        throw std::runtime_error(name_ + ": " + session_.observation().server_violation);
      }
      if (session_.closed() || Clock::now() >= deadline) {
        return std::nullopt;
      }
      session_.await_events(events.size() + 1, deadline);
    }
  }

  // As next(), but a missing event fails the case with `what` and how the connection stands.
  json expect(std::string_view type, const std::string& what,
              const std::function<bool(const json&)>& match = {}) {
    if (auto payload = next(type, deadline_in(kReplyDeadline), match)) {
      return *payload;
    }
    const Observation& seen = session_.observation();
    std::string state = "still open";
    if (seen.close) {
      state = "closed with " +
              (seen.close->code ? std::to_string(*seen.close->code) : std::string("no code")) +
              (seen.close->reason.empty() ? "" : " \"" + preview(seen.close->reason) + "\"");
    } else if (seen.tcp_closed_by_server) {
      state = "TCP closed without a close frame";
    }
    throw std::runtime_error(name_ + " received no " + std::string(type) + " event (" + what +
                             ") within 5 s; connection " + state);
  }

  // Moves to `room` and returns its room_changed payload.
  json join(const std::string& room) {
    send_event("change_room", {{"room", room}});
    return expect("room_changed", "for room " + room,
                  [&room](const json& payload) { return field(payload, "room") == room; });
  }

  // Waits for the new_message carrying `message`.
  json receive(const std::string& message) {
    return expect("new_message", "with message " + message,
                  [&message](const json& payload) { return field(payload, "message") == message; });
  }

 private:
  std::string name_;
  Session session_;  // records messages, answers pings
  std::size_t read_ = 0;
};

// The chat's protocol: on connecting, a member is in room "general" and its first message says
// so: room_changed with the room, its members and its history (README "The event protocol").
TESTER_CASE(chat, Chat_FirstMessageIsRoomChangedForGeneral, "chat rule") {
  the_login();
  Session session;
  session.await_events(1, deadline_in(kReplyDeadline));
  const Observation& seen = session.observation();
  if (seen.events.empty()) {
    report({Behavior::kFailed, "no message within 5 s of the upgrade"});
    return;
  }
  const json event = json::parse(seen.events.front().payload, nullptr, false);
  const json payload = event.is_object() && event.contains("payload") ? event["payload"] : json{};
  if (seen.events.front().kind != Event::Kind::kText || field(event, "type") != "room_changed" ||
      field(payload, "room") != "general") {
    report({Behavior::kFailed, "the first message is " + preview(seen.events.front().payload) +
                                   ", not a room_changed event for room \"general\""});
    return;
  }
  if (!payload.contains("members") || !payload["members"].is_array() ||
      !payload.contains("history") || !payload["history"].is_array()) {
    report({Behavior::kFailed, R"(room_changed lacks the arrays "members" and "history": )" +
                                   preview(seen.events.front().payload)});
  }
}

// The chat's protocol: a message sent is delivered to the other members of the room as
// new_message, whose "from" is the sender's login (never something the payload claims).
TESTER_CASE(chat, Chat_DeliversAMessageWithTheSendersName, "chat rule") {
  const std::string user = the_login().username;
  const std::string room = unique("deliver");
  const std::string text = unique("hello");
  Member sender("sender");
  Member reader("reader");
  sender.join(room);
  reader.join(room);
  sender.send_event("send_message", {{"message", text}, {"from", "mallory"}});
  const json got = reader.receive(text);
  Verdict verdict;
  if (field(got, "from") != user) {
    verdict = worst(verdict, {Behavior::kFailed, R"("from" is ")" + field(got, "from") +
                                                     "\", expected the login's \"" + user + "\""});
  }
  if (field(got, "room") != room) {
    verdict = worst(verdict, {Behavior::kFailed, R"("room" is ")" + field(got, "room") +
                                                     "\", expected \"" + room + "\""});
  }
  if (field(got, "sent").empty()) {
    verdict = worst(verdict, {Behavior::kFailed, "no \"sent\" time in " + got.dump()});
  }
  report(verdict);
}

// The chat's rule: rooms are isolated; a member of another room does not see the message while
// a member of the sender's room does.
TESTER_CASE(chat, Chat_KeepsRoomsIsolated, "chat rule") {
  the_login();
  const std::string room = unique("here");
  const std::string other_room = unique("there");
  const std::string text = unique("private");
  Member sender("sender");
  Member neighbour("member of the same room");
  Member outsider("member of another room");
  sender.join(room);
  neighbour.join(room);
  outsider.join(other_room);
  sender.say(text);
  neighbour.receive(text);
  const auto leaked = outsider.next("new_message", deadline_in(kQuietWindow),
                                    [&text](const json& p) { return field(p, "message") == text; });
  if (leaked) {
    report({Behavior::kFailed, "a member of room " + other_room + " received " + leaked->dump() +
                                   " sent in room " + room});
  }
}

// The chat's rule: one order per room. Two senders interleave 20 messages each; both readers
// receive all 40 in the same order, and each sender's messages in the order it sent them.
TESTER_CASE(chat, Chat_KeepsOneOrderPerRoom, "chat rule") {
  the_login();
  constexpr std::size_t kEach = 20;  // the chat's rate limit allows bursts of 20 per connection
  const std::string room = unique("order");
  const std::string tag = unique("");
  Member first("sender 1");
  Member second("sender 2");
  std::vector<std::unique_ptr<Member>> readers;
  readers.push_back(std::make_unique<Member>("reader 1"));
  readers.push_back(std::make_unique<Member>("reader 2"));
  first.join(room);
  second.join(room);
  for (auto& reader : readers) {
    reader->join(room);
  }
  for (std::size_t i = 0; i < kEach; ++i) {
    first.say(tag + "a" + std::to_string(i));
    second.say(tag + "b" + std::to_string(i));
  }
  std::vector<std::vector<std::string>> orders;
  const Deadline deadline = deadline_in(kReplyDeadline);
  for (auto& reader : readers) {
    std::vector<std::string> order;
    while (order.size() < 2 * kEach) {
      const auto got = reader->next("new_message", deadline, [&tag](const json& p) {
        return field(p, "message").starts_with(tag);
      });
      if (!got) {
        break;
      }
      order.push_back(field(*got, "message").substr(tag.size()));
    }
    orders.push_back(std::move(order));
  }
  const auto show = [](const std::vector<std::string>& order) {
    std::string out;
    for (const std::string& message : order) {
      out += (out.empty() ? "" : " ") + message;
    }
    return out;
  };
  for (std::size_t r = 0; r < orders.size(); ++r) {
    if (orders[r].size() != 2 * kEach) {
      report({Behavior::kFailed, "reader " + std::to_string(r + 1) + " received " +
                                     std::to_string(orders[r].size()) + " of " +
                                     std::to_string(2 * kEach) + " messages within 5 s"});
      return;
    }
    std::size_t next_a = 0;
    std::size_t next_b = 0;
    for (const std::string& message : orders[r]) {
      std::size_t& expected = message.starts_with('a') ? next_a : next_b;
      if (message.substr(1) != std::to_string(expected)) {
        report({Behavior::kFailed,
                "reader " + std::to_string(r + 1) +
                    " received one sender's messages out of order: " + show(orders[r])});
        return;
      }
      ++expected;
    }
  }
  if (orders[0] != orders[1]) {
    report({Behavior::kFailed, "the readers disagree on the room's order: " + show(orders[0]) +
                                   " vs " + show(orders[1])});
  }
}

// The chat's rule: joining a room shows its history; messages sent before a member joins appear
// in its room_changed, in the order they were sent.
TESTER_CASE(chat, Chat_ShowsHistoryOnJoin, "chat rule") {
  const std::string user = the_login().username;
  const std::string room = unique("history");
  const std::vector<std::string> texts = {unique("h0"), unique("h1"), unique("h2")};
  Member sender("sender");
  Member witness("witness");
  sender.join(room);
  witness.join(room);
  for (const std::string& text : texts) {
    sender.say(text);
  }
  for (const std::string& text : texts) {
    witness.receive(text);  // the server has accepted them
  }
  Member newcomer("newcomer");
  const json changed = newcomer.join(room);
  std::vector<std::string> shown;
  if (changed.contains("history") && changed["history"].is_array()) {
    for (const json& item : changed["history"]) {
      shown.push_back(field(item, "message") + " from " + field(item, "from"));
    }
  }
  std::vector<std::string> expected;
  expected.reserve(texts.size());
  for (const std::string& text : texts) {
    expected.push_back(text + " from " + user);
  }
  if (shown != expected) {
    report({Behavior::kFailed,
            "room_changed history of the new room is " +
                (changed.contains("history") ? changed["history"].dump() : std::string("missing")) +
                ", expected the 3 messages sent before joining, in order"});
  }
}

// The chat's rule: a bad event (not JSON, an unknown type, a message missing) gets an error
// event with a reason and the connection stays open: a following valid message is delivered.
struct BadEvent {
  std::string name;
  std::string text;
};

const bool kBadEventsRegistered = add_family(
    "chat", "chat rule",
    std::vector<BadEvent>{
        {"Chat_AnswersTextThatIsNotJsonWithAnErrorEvent", "this is not JSON {"},
        {"Chat_AnswersAnUnknownEventTypeWithAnErrorEvent",
         R"({"type":"no_such_event","payload":{}})"},
        {"Chat_AnswersASendMessageWithoutMessageWithAnErrorEvent",
         R"({"type":"send_message","payload":{}})"},
    },
    [](const BadEvent& bad) { return bad.name; },
    [](const BadEvent& bad) {
      the_login();
      const std::string room = unique("errors");
      const std::string text = unique("after-error");
      Member sender("sender");
      Member witness("witness");
      sender.join(room);
      witness.join(room);
      sender.session().send(text_frame(bad.text));
      const json error = sender.expect("error", "after sending " + preview(bad.text));
      if (field(error, "reason").empty()) {
        report({Behavior::kFailed, "the error event has no \"reason\": " + error.dump()});
      }
      sender.say(text);
      witness.receive(text);
      if (sender.session().closed()) {
        report({Behavior::kFailed, "the server closed the connection after the error event"});
      }
    });

// RFC 6455 §7.4.1 and §10.4: a message larger than the server's limit (--max-message) closes
// the connection with 1009 (message too big), never an error event.
TESTER_CASE(chat, Chat_ClosesAMessageOverTheLimitWith1009, "§7.4.1") {
  the_login();
  const std::string head = R"({"type":"send_message","payload":{"message":")";
  const std::string tail = R"("}})";
  const std::size_t size = target().max_message + 1;
  const std::string message = head + std::string(size - head.size() - tail.size(), 'x') + tail;
  Session session(kIgnoreMessages);
  session.send(text_frame(message));
  session.await_close(deadline_in(kLargeMessageDeadline));
  report(judge_failure(session.observation(), {close_code::kMessageTooBig}));
}

}  // namespace
}  // namespace tester

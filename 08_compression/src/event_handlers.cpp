// The chat's event handlers: join a room, send a message, list the rooms. Each checks its payload
// and answers what is wrong with an `error` event; the rooms themselves live in the Manager.
#include "event_handlers.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "event.hpp"
#include "log.hpp"

namespace ws {

namespace {

using Reply = std::optional<std::string>;

std::string string_field(const nlohmann::json& payload, const char* name) {
  const auto found = payload.find(name);
  return found != payload.end() && found->is_string() ? found->get<std::string>() : "";
}

Reply on_send_message(const nlohmann::json& payload, const ChatContext& chat) {
  const std::string message = string_field(payload, "message");
  std::string error;
  if (!is_valid_message_text(message, error)) {
    return error_event(error);
  }
  if (!chat.rate.take(TokenBucket::Clock::now())) {
    return error_event("rate limit: at most " +
                       std::to_string(static_cast<int>(chat.options.rate_limit)) +
                       " messages per second (bursts of " +
                       std::to_string(static_cast<int>(2 * chat.options.rate_limit)) + ")");
  }
  // The sender's own copy comes back through its egress queue like everyone else's, so it
  // sees its message in the same order as the other members do.
  chat.services.manager.broadcast(chat.member, message, std::chrono::system_clock::now());
  return std::nullopt;
}

Reply on_change_room(const nlohmann::json& payload, const ChatContext& chat) {
  const std::string room = string_field(payload, "room");
  if (!is_valid_room_name(room)) {
    return error_event("invalid room name: 1-32 characters from A-Z a-z 0-9 _ -");
  }
  const std::string previous = chat.member.room;
  chat.services.manager.join(chat.member, room);
  if (chat.options.verbose) {
    log_line("#" + std::to_string(chat.id) + " " + chat.member.username + " moved from " +
             previous + " to " + room);
  }
  return std::nullopt;
}

Reply on_list_rooms(const nlohmann::json& /*payload*/, const ChatContext& chat) {
  return encode_event("rooms", chat.services.manager.rooms());
}

}  // namespace

std::optional<std::string> handle_event(const std::string& text, const ChatContext& chat) {
  std::string error;
  const auto event = parse_event(text, error);
  if (!event) {
    return error_event(error);
  }
  using Handler = Reply (*)(const nlohmann::json& payload, const ChatContext& chat);
  static const std::map<std::string, Handler, std::less<>> handlers = {
      {"send_message", &on_send_message},
      {"change_room", &on_change_room},
      {"list_rooms", &on_list_rooms},
  };
  const auto handler = handlers.find(event->type);
  if (handler == handlers.end()) {
    return error_event("unknown event type '" + printable(event->type) + "'");
  }
  return handler->second(event->payload, chat);
}

}  // namespace ws

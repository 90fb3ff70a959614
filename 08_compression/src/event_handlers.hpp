// The chat's event handlers: what each typed event a client sends (event.hpp) does. A handler
// never writes to the socket: it returns the event to send back to its sender, if any, and the
// WebSocket session (websocket_session.hpp) sends it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "chat_services.hpp"
#include "manager.hpp"
#include "options.hpp"
#include "rate_limit.hpp"

namespace ws {

/// One chatting connection, as its event handlers see it.
struct ChatContext {
  Member& member;          ///< the connection's place in the rooms
  ChatServices& services;  ///< the rooms it chats in
  TokenBucket& rate;       ///< its send_message budget (--rate-limit)
  const Options& options;
  std::uint64_t id;  ///< the connection's number, which starts its log lines
};

/// Routes one text message to the handler of its event type: `send_message`, `change_room` or
/// `list_rooms`. Returns the event to send back to the sender: an `error` event for anything
/// wrong with the event (the connection stays open), the `rooms` list, or nullopt when the
/// sender gets no direct answer (its own message comes back through its egress queue).
std::optional<std::string> handle_event(const std::string& text, const ChatContext& chat);

}  // namespace ws

// The chat's application protocol on top of WebSocket text messages: typed JSON events
// `{"type": ..., "payload": {...}}` (the design of the Go chat this course started from), their
// parsing, their validation rules, and the events the server sends. JSON itself is nlohmann-json's
// job.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

/// One event received from a client, after its envelope was checked.
struct ChatEvent {
  std::string type;
  nlohmann::json payload;  ///< always an object
};

/// Parses a client's text message. Returns the event, or nullopt with `error` set to a reason the
/// client is told in an `error` event: not JSON, not an object, no string `type`, a `payload` that
/// is not an object.
std::optional<ChatEvent> parse_event(std::string_view text, std::string& error);

/// Room names: 1-32 characters from A-Z, a-z, 0-9, '_' and '-'. Anything a user types that fits
/// is a room (created on first join); the rule keeps names printable and unambiguous in logs.
bool is_valid_room_name(std::string_view room);
inline constexpr std::size_t kMaxRoomNameSize = 32;

/// Message texts: 1-1000 characters (code points, the text is valid UTF-8 already), not only
/// whitespace.
bool is_valid_message_text(std::string_view text, std::string& error);
inline constexpr std::size_t kMaxMessageCharacters = 1000;

/// RFC 3339 UTC time with milliseconds: "2026-11-21T06:31:44.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point time);

/// The JSON text of an event the server sends: {"type": type, "payload": payload}.
std::string encode_event(std::string_view type, nlohmann::json payload);

/// The payload of a `new_message` event (also what the room's history keeps).
nlohmann::json new_message_payload(std::string_view message, std::string_view from,
                                   std::string_view room,
                                   std::chrono::system_clock::time_point sent);

/// An `error` event telling the client why its event was refused.
std::string error_event(std::string_view reason);

}  // namespace ws

// libFuzzer target for the chat's events: parse_event, is_valid_room_name and
// is_valid_message_text on arbitrary text, followed the way the server follows a client's event
// (the fields its handlers read, the error event it answers, the new_message it broadcasts).
// Nothing may throw, and whatever the server sends back must be valid JSON and valid UTF-8.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "event.hpp"
#include "fuzz_check.hpp"
#include "log.hpp"
#include "utf8.hpp"

namespace {

using ws::fuzz::check;

bool reference_room_name(std::string_view room) {
  if (room.empty() || room.size() > 32) {
    return false;
  }
  for (const char c : room) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

// event.hpp: 1-1000 code points of (valid) UTF-8, not only spaces, tabs, CRs and LFs.
bool reference_message_text(std::string_view text) {
  std::size_t code_points = 0;
  bool blank = true;
  for (const char c : text) {
    if ((static_cast<std::uint8_t>(c) & 0xC0U) != 0x80U) {
      ++code_points;
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      blank = false;
    }
  }
  return code_points >= 1 && code_points <= 1000 && !blank;
}

// Something the server sends in a text frame: valid UTF-8, and JSON of the given type.
void check_sent(const std::string& frame_text, std::string_view type) {
  check(ws::is_valid_utf8(frame_text), "what the server sends is valid UTF-8");
  const nlohmann::json json = nlohmann::json::parse(frame_text, nullptr, false);
  check(json.is_object() && json.contains("type") && json["type"] == type &&
            json.contains("payload") && json["payload"].is_object(),
        "what the server sends is a well-formed event");
}

// What the handlers read: string fields, or "" when absent or not a string.
std::string string_field(const nlohmann::json& payload, const char* name) {
  const auto found = payload.find(name);
  return found != payload.end() && found->is_string() ? found->get<std::string>() : "";
}

void check_text(std::string_view text) {
  check(ws::is_valid_room_name(text) == reference_room_name(text), "room name rule");
  if (ws::is_valid_utf8(text)) {
    std::string error;
    const bool valid = ws::is_valid_message_text(text, error);
    check(valid == reference_message_text(text), "message text rule");
    check(valid || !error.empty(), "a refused message has a reason");
  }
}

void check_event(std::string_view text) {
  std::string error = "unchanged";
  const auto event = ws::parse_event(text, error);
  if (!event) {
    check(error == "malformed JSON" || error == "an event must be a JSON object" ||
              error == "an event needs a string \"type\"" ||
              error == "\"payload\" must be an object",
          "a refused event has one of the documented reasons");
    check_sent(ws::error_event(error), "error");
    return;
  }
  check(nlohmann::json::accept(text), "an accepted event is JSON");
  check(event->payload.is_object(), "the payload is an object");
  check(ws::is_valid_utf8(event->type), "the type is valid UTF-8");

  // The answer to an unknown type quotes the type: it must still encode.
  check_sent(ws::error_event("unknown event type '" + ws::printable(event->type) + "'"), "error");

  const std::string message = string_field(event->payload, "message");
  check_text(message);
  std::string reason;
  if (ws::is_valid_message_text(message, reason)) {
    // What send_message broadcasts and every member's page parses back.
    const auto payload = ws::new_message_payload(message, "alice", "general",
                                                 std::chrono::system_clock::time_point{});
    const std::string sent = ws::encode_event("new_message", payload);
    check_sent(sent, "new_message");
    check(nlohmann::json::parse(sent)["payload"]["message"] == message,
          "a broadcast message reads back unchanged");
  }
  const std::string room = string_field(event->payload, "room");
  check_text(room);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_text(text);
    check_event(text);
  } catch (const std::exception& exception) {
    // The connection thread has no handler: an exception here would end the whole server.
    std::fprintf(stderr, "exception escaped: %s\n", exception.what());
    std::abort();
  }
  return 0;
}

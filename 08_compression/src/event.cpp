// The chat's application protocol: typed JSON events.
#include "event.hpp"

#include <algorithm>
#include <ctime>

namespace ws {

std::optional<ChatEvent> parse_event(std::string_view text, std::string& error) {
  // parse(..., nullptr, false) reports malformed JSON as a "discarded" value instead of throwing.
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    error = "malformed JSON";
    return std::nullopt;
  }
  if (!json.is_object()) {
    error = "an event must be a JSON object";
    return std::nullopt;
  }
  const auto type = json.find("type");
  if (type == json.end() || !type->is_string()) {
    error = "an event needs a string \"type\"";
    return std::nullopt;
  }
  ChatEvent event{type->get<std::string>(), nlohmann::json::object()};
  if (const auto payload = json.find("payload"); payload != json.end()) {
    if (!payload->is_object()) {
      error = "\"payload\" must be an object";
      return std::nullopt;
    }
    event.payload = std::move(*payload);
  }
  return event;
}

bool is_valid_room_name(std::string_view room) {
  return !room.empty() && room.size() <= kMaxRoomNameSize &&
         std::all_of(room.begin(), room.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

bool is_valid_message_text(std::string_view text, std::string& error) {
  // Count code points: every byte that is not a UTF-8 continuation byte starts one.
  const auto characters =
      static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
      }));
  if (characters > kMaxMessageCharacters) {
    error = "message longer than " + std::to_string(kMaxMessageCharacters) + " characters";
    return false;
  }
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; })) {
    error = "empty message";
    return false;
  }
  return true;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  std::array<char, 32> text{};
  const std::size_t size = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::array<char, 8> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%03dZ", static_cast<int>(millis));
  return std::string(text.data(), size) + fraction.data();
}

std::string encode_event(std::string_view type, nlohmann::json payload) {
  nlohmann::json event = {{"type", type}, {"payload", std::move(payload)}};
  return event.dump();
}

nlohmann::json new_message_payload(std::string_view message, std::string_view from,
                                   std::string_view room,
                                   std::chrono::system_clock::time_point sent) {
  return {{"message", message}, {"from", from}, {"room", room}, {"sent", rfc3339_utc(sent)}};
}

std::string error_event(std::string_view reason) {
  return encode_event("error", {{"reason", reason}});
}

}  // namespace ws

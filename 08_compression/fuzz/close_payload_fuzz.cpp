// libFuzzer target for Close payloads (RFC 6455 §5.5.1, §7.4): parse_close_payload on arbitrary
// bytes, checked against the rules written out here, and encode_close_payload on arbitrary codes
// and reasons of any length, checked by parsing its output back. describe() must keep any reason
// on one log line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "close.hpp"
#include "fuzz_check.hpp"
#include "utf8.hpp"

namespace {

using ws::fuzz::check;

// RFC 6455 §7.4 and the IANA registry, as close.hpp documents them: the codes a peer may send.
bool reference_valid_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

bool is_local_only(std::uint16_t code) { return code == 1005 || code == 1006 || code == 1015; }

std::uint16_t big_endian(std::string_view two_bytes) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(two_bytes[0]) << 8U) |
                                    static_cast<std::uint8_t>(two_bytes[1]));
}

void check_describe(const ws::CloseStatus& status) {
  const std::string text = ws::describe(status);
  const std::string start = std::to_string(status.code) + " \"";
  check(text.substr(0, start.size()) == start && text.size() > start.size() && text.back() == '"',
        "describe() gives CODE \"REASON\"");
  for (const char c : text) {
    const auto byte = static_cast<std::uint8_t>(c);
    check(byte >= 0x20 && byte != 0x7F, "describe() output has no control byte (one log line)");
  }
}

// Parsing the received payload, as the message reader does with every Close frame.
void check_parse(std::string_view payload) {
  const ws::CloseParseResult result = ws::parse_close_payload(payload);
  check_describe(result.received);

  bool valid = false;
  if (payload.empty()) {
    check(result.received == ws::CloseStatus{}, "an empty payload is 1005 without a reason");
    valid = true;
  } else if (payload.size() >= 2 && payload.size() <= ws::kMaxClosePayloadSize) {
    check(result.received.code == big_endian(payload),
          "the code is the first two bytes, big-endian");
    check(result.received.reason == payload.substr(2), "the reason is the rest");
    valid = reference_valid_code(result.received.code) && ws::is_valid_utf8(payload.substr(2));
  }
  check(valid == !result.error.has_value(), "an error exactly when a rule is broken");
  if (!result.error) {
    check(ws::is_valid_received_close_code(result.received.code) || payload.empty(),
          "an accepted code is valid on the wire");
    // A valid Close payload survives a round trip through encode_close_payload unchanged.
    check(ws::encode_close_payload(result.received) == payload,
          "a valid payload re-encodes to itself");
    return;
  }
  const ws::CloseStatus& error = *result.error;
  check(error.code == 1002 || error.code == 1007, "the error code is 1002 or 1007");
  check(!error.reason.empty() && error.reason.size() <= ws::kMaxCloseReasonSize &&
            ws::is_valid_utf8(error.reason),
        "the error's reason fits a Close frame and is UTF-8");
  // RFC 6455 §7.4.1: 1007 for data that is not what its type says (a reason that is not UTF-8);
  // every other broken rule is a protocol error.
  const bool bad_utf8_only = payload.size() >= 2 && payload.size() <= ws::kMaxClosePayloadSize &&
                             reference_valid_code(big_endian(payload));
  check((error.code == 1007) == bad_utf8_only, "1007 only for a reason that is not UTF-8");
  check_describe(error);
}

// Encoding what the server sends: any code, any reason, any length.
void check_encode(const ws::CloseStatus& status) {
  const std::string payload = ws::encode_close_payload(status);
  if (is_local_only(status.code)) {
    check(payload.empty(), "1005, 1006 and 1015 are never sent");
    return;
  }
  check(payload.size() >= 2 && payload.size() <= ws::kMaxClosePayloadSize, "fits a control frame");
  check(big_endian(payload) == status.code, "the code goes first, big-endian");
  const std::string_view reason = std::string_view(payload).substr(2);
  check(std::string_view(status.reason).substr(0, reason.size()) == reason,
        "the reason sent is a prefix of the reason given");
  if (status.reason.size() <= ws::kMaxCloseReasonSize) {
    check(reason == status.reason, "a reason that fits is sent whole");
  }
  if (ws::is_valid_utf8(status.reason)) {
    // §5.5.1: the reason is UTF-8, so a cut must fall between code points, and at most the 3
    // bytes of a code point that does not fit are lost.
    check(ws::is_valid_utf8(reason), "a cut never splits a code point");
    check(reason.size() + 3 >= std::min(status.reason.size(), ws::kMaxCloseReasonSize),
          "a cut drops at most one code point");
    if (reference_valid_code(status.code)) {
      const ws::CloseParseResult back = ws::parse_close_payload(payload);
      check(!back.error && back.received.code == status.code && back.received.reason == reason,
            "what we send, the peer parses back");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_parse(input);
  if (size >= 2) {
    check_encode(ws::CloseStatus{big_endian(input), std::string(input.substr(2))});
  }
  return 0;
}

// Close frame payloads: status codes and reasons (RFC 6455 §5.5.1, §7.4).
// Encoding, parsing and validation of the code + UTF-8 reason carried by a Close frame.
#include "close.hpp"

#include <array>
#include <cstdio>
#include <string>
#include <utility>

#include "utf8.hpp"

namespace ws {

namespace {

/// True for a UTF-8 continuation byte (10xxxxxx): never the first byte of a code point.
bool is_continuation_byte(char c) { return (static_cast<std::uint8_t>(c) & 0xC0U) == 0x80U; }

/// The longest prefix of `text` of at most `max_size` bytes that does not end inside a
/// multi-byte UTF-8 sequence.
std::string_view truncate_on_code_point(std::string_view text, std::size_t max_size) {
  if (text.size() <= max_size) {
    return text;
  }
  std::size_t cut = max_size;
  // Back up over continuation bytes: the byte at `cut` must start a code point, so that
  // everything before it is made of whole sequences.
  while (cut > 0 && is_continuation_byte(text[cut])) {
    --cut;
  }
  return text.substr(0, cut);
}

CloseStatus protocol_error(std::string reason) {
  return make_close_status(CloseCode::kProtocolError, std::move(reason));
}

}  // namespace

CloseStatus make_close_status(CloseCode code, std::string reason) {
  return CloseStatus{static_cast<std::uint16_t>(code), std::move(reason)};
}

bool is_valid_received_close_code(std::uint16_t code) {
  // RFC 6455 §7.4.1 defines 1000-1011 and reserves the rest of 1000-2999 for the protocol.
  // 1004 is reserved; 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close
  // control frame by an endpoint": they only describe a closure locally.
  //
  // The IANA "WebSocket Close Code Number Registry" (RFC 6455 §11.7) has since assigned
  // 1012 Service Restart, 1013 Try Again Later and 1014 Bad Gateway. Servers and proxies do
  // send them, so we accept them; 1016-2999 are still unassigned and are rejected.
  //
  // RFC 6455 §7.4.2: 3000-3999 are registered with IANA by libraries and frameworks, and
  // 4000-4999 are for private use by applications. Both are valid on the wire.
  if (code >= 1000 && code <= 1003) {
    return true;
  }
  if (code >= 1007 && code <= 1014) {
    return true;
  }
  return code >= 3000 && code <= 4999;
}

std::string encode_close_payload(const CloseStatus& status) {
  const auto code = static_cast<CloseCode>(status.code);
  if (code == CloseCode::kNoStatusReceived || code == CloseCode::kAbnormalClosure ||
      code == CloseCode::kTlsHandshake) {
    // RFC 6455 §5.5.1: the body is optional. "No status" is expressed by sending none, and
    // §5.5.1 only allows a reason after a code, so the reason goes too.
    return {};
  }
  // RFC 6455 §5.5: control frame payloads are at most 125 bytes, so the reason gets 123.
  // §5.5.1: the reason is UTF-8, so a truncation must not split a code point.
  const std::string_view reason = truncate_on_code_point(status.reason, kMaxCloseReasonSize);
  std::string payload;
  payload.reserve(2 + reason.size());
  // RFC 6455 §5.5.1: "a 2-byte unsigned integer (in network byte order)".
  payload.push_back(static_cast<char>(status.code >> 8U));
  payload.push_back(static_cast<char>(status.code & 0xFFU));
  payload.append(reason);
  return payload;
}

CloseParseResult parse_close_payload(std::string_view payload) {
  CloseParseResult result;
  if (payload.size() > kMaxClosePayloadSize) {
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    result.error = protocol_error("close payload over 125 bytes");
    return result;
  }
  if (payload.empty()) {
    // RFC 6455 §7.1.5: a Close frame without a status code is reported as 1005.
    return result;
  }
  if (payload.size() == 1) {
    // RFC 6455 §5.5.1: if there is a body, its first two bytes MUST be a status code.
    result.error = protocol_error("close payload of 1 byte");
    return result;
  }
  const auto high = static_cast<std::uint8_t>(payload[0]);
  const auto low = static_cast<std::uint8_t>(payload[1]);
  result.received.code = static_cast<std::uint16_t>((high << 8U) | low);
  const std::string_view reason = payload.substr(2);
  result.received.reason.assign(reason);
  if (!is_valid_received_close_code(result.received.code)) {
    result.error = protocol_error("invalid close code " + std::to_string(result.received.code));
    return result;
  }
  if (!is_valid_utf8(reason)) {
    // RFC 6455 §8.1: invalid UTF-8 in a text payload (and a reason is one) means we
    // "MUST _Fail the WebSocket Connection_"; §7.4.1 names 1007 for inconsistent data.
    result.error = make_close_status(CloseCode::kInvalidPayloadData, "close reason is not UTF-8");
  }
  return result;
}

std::string describe(const CloseStatus& status) {
  std::string text = std::to_string(status.code);
  text += " \"";
  for (const char c : status.reason) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (c == '"' || c == '\\') {
      text += '\\';
      text += c;
    } else if (byte < 0x20U || byte == 0x7FU) {
      // Control bytes (a newline, above all) would break the one-line-per-event log.
      std::array<char, 5> escaped{};
      std::snprintf(escaped.data(), escaped.size(), "\\x%02X", static_cast<unsigned>(byte));
      text += escaped.data();
    } else {
      text += c;
    }
  }
  text += '"';
  return text;
}

}  // namespace ws

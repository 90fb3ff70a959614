// Close frame payloads: status codes and reasons (RFC 6455 §5.5.1, §7.4).
// A close payload is empty, or a 2-byte big-endian status code followed by a UTF-8 reason.
// This file builds such payloads, parses received ones, and says which codes may travel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

/// The status codes with a name: RFC 6455 §7.4.1 plus the later IANA registrations.
/// Applications may also use 3000-4999, so a received code is kept as a plain integer
/// (`CloseStatus::code`) and this enum only gives the well-known ones a name.
enum class CloseCode : std::uint16_t {
  kNormalClosure = 1000,       // the purpose of the connection has been fulfilled
  kGoingAway = 1001,           // server shutting down, or a browser leaving the page
  kProtocolError = 1002,       // the peer broke a rule of RFC 6455
  kUnsupportedData = 1003,     // a data type the endpoint cannot accept (e.g. binary)
  kNoStatusReceived = 1005,    // local only: the Close frame carried no status code
  kAbnormalClosure = 1006,     // local only: the connection ended without a Close frame
  kInvalidPayloadData = 1007,  // data inconsistent with its type, e.g. non-UTF-8 text
  kPolicyViolation = 1008,     // a generic "no" when no other code fits
  kMessageTooBig = 1009,       // a frame or message larger than the endpoint accepts
  kMandatoryExtension = 1010,  // sent by a client when the server refused an extension
  kInternalError = 1011,       // the endpoint hit an unexpected condition
  kServiceRestart = 1012,      // IANA: the server is restarting
  kTryAgainLater = 1013,       // IANA: temporary overload, reconnect later
  kBadGateway = 1014,          // IANA: a gateway received an invalid upstream response
  kTlsHandshake = 1015,        // local only: the TLS handshake failed
};

/// RFC 6455 §5.5: a control frame carries at most 125 bytes, two of which are the code.
inline constexpr std::size_t kMaxClosePayloadSize = 125;
/// The longest reason that fits beside the 2-byte code in one Close frame.
inline constexpr std::size_t kMaxCloseReasonSize = kMaxClosePayloadSize - 2;

/// A status code and reason, as sent or received in a Close frame.
/// `code` is a plain integer because codes 3000-4999 belong to libraries and applications.
/// The default value, 1005, means "no status code": what an empty Close frame carries.
struct CloseStatus {
  std::uint16_t code = static_cast<std::uint16_t>(CloseCode::kNoStatusReceived);
  std::string reason;

  friend bool operator==(const CloseStatus&, const CloseStatus&) = default;
};

/// Returns a CloseStatus holding `code` and `reason`.
CloseStatus make_close_status(CloseCode code, std::string reason = {});

/// Returns true when `code` may legitimately appear in a received Close frame.
/// Valid: 1000-1003, 1007-1014 and 3000-4999. Everything else (0-999, 1004, the local-only
/// 1005/1006/1015, the unassigned 1016-2999 and 5000 and above) must fail the connection
/// with 1002.
bool is_valid_received_close_code(std::uint16_t code);

/// Builds the payload of a Close frame: the code in network byte order, then the reason.
/// Returns an empty payload when `code` is 1005, 1006 or 1015, the codes that only ever
/// describe a closure locally and must not be sent (the reason is dropped with them).
/// A reason longer than kMaxCloseReasonSize is cut to fit, never inside a UTF-8 sequence.
std::string encode_close_payload(const CloseStatus& status);

/// What parse_close_payload found: the status the peer sent, and, when the payload breaks a
/// rule, the status with which to fail the connection (1002 or 1007, with a short reason).
struct CloseParseResult {
  CloseStatus received;
  std::optional<CloseStatus> error;
};

/// Parses a received Close payload (already unmasked).
/// An empty payload gives {1005, ""}. Errors: a 1-byte payload, a code rejected by
/// is_valid_received_close_code, or a payload over 125 bytes give 1002; a reason that is not
/// valid UTF-8 gives 1007. On error, `received` holds whatever could be read.
CloseParseResult parse_close_payload(std::string_view payload);

/// Formats a status for logs as `1000 "bye"`. Quotes, backslashes and control bytes in the
/// reason are escaped, so one status always stays on one log line.
std::string describe(const CloseStatus& status);

}  // namespace ws

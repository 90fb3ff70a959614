// Drives one connection to the server under test and grades what it did, in the three
// grades Autobahn|Testsuite made familiar: OK (strict RFC 6455 behaviour), NON-STRICT (allowed or
// tolerable but not what the course's server must do) and FAILED.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wire.hpp"

namespace tester {

using namespace std::chrono_literals;

// Every wait for the server is bounded by one of these.
// How long the server has to answer anything (a message, a pong, a close).
inline constexpr auto kReplyDeadline = 5s;
// How long the server has to fail on invalid data it has already received, before we send the
// rest of the frame or message (Autobahn 6.4.x "fail fast"). Must stay below kReplyDeadline.
inline constexpr auto kFailFastWindow = 1s;
// How long we watch for a premature failure after sending a valid prefix.
inline constexpr auto kPrematureFailureWindow = 200ms;
// How long the server has to close TCP once the close handshake is complete (RFC 6455 §7.1.1:
// the server closes first).
inline constexpr auto kTcpCloseDeadline = 1s;
// Messages of several MiB need more than kReplyDeadline on slow peers (interpreters, sanitizers).
inline constexpr auto kLargeMessageDeadline = 20s;

/// RFC 6455 §7.4.1 status codes the cases expect to see.
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kMessageTooBig = 1009;
}  // namespace close_code

/// One thing the server sent that the test cares about: a whole (reassembled) data message, or a
/// pong. Section 10 of Autobahn: the server may fragment its echo differently, so only the
/// reassembled message is compared.
struct Event {
  enum class Kind { kText, kBinary, kPong };
  Kind kind = Kind::kText;
  std::string payload;

  bool operator==(const Event&) const = default;
};

Event text_event(std::string payload);
Event binary_event(std::string payload);
Event pong_event(std::string payload);

/// The server's close frame as received.
struct CloseSeen {
  std::optional<std::uint16_t> code;  // nullopt: empty body
  std::string reason;
};

/// Everything observed on one connection.
struct Observation {
  std::vector<Event> events;                  // in arrival order, before the server's close frame
  std::optional<CloseSeen> close;             // the server's close frame, if one arrived
  bool tcp_closed_by_server = false;          // FIN or RST from the server was seen
  ReadStatus tcp_end = ReadStatus::kTimeout;  // how it ended, if it did
  std::string server_violation;     // the server itself broke RFC 6455 (first problem seen)
  Clock::duration time_to_close{};  // from Session start to close frame (or TCP end)
  bool we_sent_close = false;
  std::vector<Clock::duration> pings;  // when each server ping arrived, from Session start
  // With SessionOptions::compressed_messages: the indices in `events` of the messages whose
  // first frame had RSV1 (RFC 7692 §6), recorded as they came, still compressed.
  std::vector<std::size_t> compressed;
};

/// What a Session does with what is not under test.
struct SessionOptions {
  bool answer_pings = true;     // false plays a peer that never answers (heartbeat cases)
  bool record_messages = true;  // false ignores data messages (a greeting, chat events)
  // permessage-deflate was negotiated (RFC 7692 §6.1): RSV1 may mark the first frame of a data
  // message, never a continuation or a control frame. Inflating is the case's business.
  bool compressed_messages = false;
};

/// A WebSocket connection to the server under test with everything it receives recorded.
/// Construction connects and performs the opening handshake on target() (upgrade_request());
/// it throws std::runtime_error when that fails, which fails the case with that message.
class Session {
 public:
  explicit Session(SessionOptions options = {});
  /// The same with a request of the case's own (another path, an extension offered);
  /// `response` receives the server's 101.
  Session(const UpgradeRequest& request, SessionOptions options, HttpResponse* response = nullptr);

  /// Sends the frames as one contiguous byte string, written according to `plan`. Returns false
  /// when the connection broke while writing (which is expected if the server fails early).
  bool send(const std::vector<FrameSpec>& frames, const SendPlan& plan = {});
  bool send(const FrameSpec& frame, const SendPlan& plan = {});
  /// Sends raw bytes (for example part of an encoded frame).
  bool send_raw(std::string_view bytes, const SendPlan& plan = {});

  /// Reads until at least `count` events have arrived, the server closes, or `deadline` passes.
  void await_events(std::size_t count, Deadline deadline);
  /// Reads until the server's close frame (answered with our own close if we had not sent one)
  /// and then its TCP close, or until the deadline. A timeout leaves the session usable.
  void await_close(Deadline deadline);
  /// Starts the closing handshake with `frame` and waits for it to complete.
  void close_with(const FrameSpec& frame, Deadline deadline);

  /// True once a close frame arrived or the TCP connection ended.
  [[nodiscard]] bool closed() const {
    return observation_.close.has_value() || observation_.tcp_closed_by_server;
  }

  [[nodiscard]] const Observation& observation() const { return observation_; }
  WireClient& client() { return client_; }

 private:
  // Reads and records one frame; returns false when nothing more can be read before `deadline`.
  bool step(Deadline deadline);

  WireClient client_;
  SessionOptions options_;
  Observation observation_;
  Clock::time_point started_;
  std::optional<Event> partial_;     // a fragmented server message being reassembled
  bool partial_compressed_ = false;  // its first frame had RSV1 (compressed_messages)
};

/// The three grades.
enum class Behavior { kOk, kNonStrict, kFailed };

const char* to_string(Behavior behavior);

struct Verdict {
  Behavior behavior = Behavior::kOk;
  std::string detail;  // why, when not OK
};

/// The close the test expects after valid traffic that it closed itself.
struct CloseEcho {
  std::optional<std::uint16_t> sent_code;  // nullopt: we sent an empty close body
};

/// Grades valid traffic: exactly `expected` in order, then the server answers our close (echoing
/// the code; 1000 to a non-1000 code is NON-STRICT, RFC 6455 §5.5.1 says "typically echos") and
/// closes TCP first (NON-STRICT if it leaves that to us).
Verdict judge_clean_echo(const Observation& seen, const std::vector<Event>& expected,
                         CloseEcho close = {close_code::kNormal});

/// Options for judging a protocol violation.
struct FailureExpectation {
  // Implicit on purpose, so a case can write {1002} or {1002, {text_event("...")}}.
  FailureExpectation(std::uint16_t expected_code = close_code::kProtocolError,  // NOLINT
                     std::vector<Event> echoed_before = {})
      : code(expected_code), before(std::move(echoed_before)) {}

  std::uint16_t code;
  std::vector<Event> before;  // what the server must echo before failing
  // Other codes accepted as NON-STRICT (with the reason), for example 1009 on a 64-bit length
  // with its top bit set, which is both malformed and too big.
  std::vector<std::uint16_t> non_strict_codes;
  std::string non_strict_reason;
};

/// Grades a violation: the events in `expect.before`, then a close frame with `expect.code`, then
/// TCP closed by the server. Dropping TCP without a close frame, not closing TCP, or echoing only a
/// prefix of `before` (a server may discard queued output when it fails, §7.1.7) is NON-STRICT; a
/// wrong code, extra events or no reaction at all is FAILED.
Verdict judge_failure(const Observation& seen, const FailureExpectation& expect);

/// Combines two grades: the worse behaviour wins, details are joined.
Verdict worst(Verdict a, const Verdict& b);

/// The running case's transcript: one line per frame sent ("> ...") and received ("< ..."),
/// printed when the case fails (the first lines) or with --verbose (all of them).
void note(std::string line);
std::vector<std::string> take_transcript();

/// Describe a frame for the transcript: "text fin masked 5 B 'Hello'".
std::string describe(const FrameSpec& frame);
std::string describe(const ServerFrame& frame);

/// Records `verdict` for the case that is running; the worst of a case's reports is its result.
/// Throws std::logic_error outside a case.
void report(const Verdict& verdict);

/// Sets where report() records (the runner's, for one case at a time); nullptr ends the case.
void set_current_verdict(Verdict* verdict);

/// True if `bytes` is well-formed UTF-8 (RFC 3629): no overlongs, surrogates or values above
/// U+10FFFF. Used to check the server's own close reasons.
bool is_valid_utf8(std::string_view bytes);

/// Returns a short printable description of `bytes` for failure messages.
std::string preview(std::string_view bytes);

}  // namespace tester

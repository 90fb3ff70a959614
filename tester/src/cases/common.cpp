// Helpers shared by the case files: payload generators and the three usual shapes of a case
// (valid traffic echoed, a violation failed, invalid UTF-8 failed fast).
#include "cases/common.hpp"

#include <thread>

namespace tester {

// Returns the bytes spelled by a string of hex digits, spaces ignored ("ce ba" -> "\xce\xba").
std::string from_hex(std::string_view hex) {
  std::string out;
  int pending = -1;
  for (const char c : hex) {
    int value = 0;
    if (c >= '0' && c <= '9') {
      value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      value = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      value = c - 'A' + 10;
    } else {
      continue;
    }
    if (pending < 0) {
      pending = value;
    } else {
      out.push_back(static_cast<char>((pending << 4) | value));
      pending = -1;
    }
  }
  return out;
}

// Deterministic printable ASCII payload of `size` bytes.
std::string ascii_payload(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>('!' + (i * 7) % 94);
  }
  return out;
}

// Deterministic binary payload of `size` bytes covering all byte values.
std::string binary_payload(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t state = 0x2545F491U;
  for (std::size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    out[i] = static_cast<char>(state & 0xFFU);
  }
  return out;
}

// Deterministic valid UTF-8 text of exactly `size` bytes mixing 1- to 4-byte code points, so that
// fixed-size fragment boundaries fall inside code points.
std::string utf8_payload(std::size_t size) {
  static const std::string unit = "Hello κόσμε — 𝄞 ünïcödé ₿ 日本語 ";
  std::string out;
  out.reserve(size);
  while (out.size() + unit.size() <= size) {
    out += unit;
  }
  out.append(size - out.size(), '.');
  return out;
}

// Sends each frame in its own write, pausing in between (Autobahn's "frame-wise" delivery).
void send_frame_by_frame(Session& session, const std::vector<FrameSpec>& frames,
                         std::chrono::milliseconds pause) {
  for (const FrameSpec& frame : frames) {
    if (!session.send(frame)) {
      return;
    }
    std::this_thread::sleep_for(pause);
  }
}

// Valid traffic: sends `frames`, waits for `expected`, then closes with 1000 and grades.
Verdict run_echo(const std::vector<FrameSpec>& frames, const std::vector<Event>& expected,
                 const SendPlan& plan, Clock::duration budget, SessionOptions options) {
  Session session(options);
  session.send(frames, plan);
  session.await_events(expected.size(), deadline_in(budget));
  if (!session.closed()) {
    session.close_with(close_frame(close_code::kNormal), deadline_in(budget));
  }
  return judge_clean_echo(session.observation(), expected);
}

// A violation: sends `frames` and grades how the server fails.
Verdict run_failure(const std::vector<FrameSpec>& frames, const FailureExpectation& expect,
                    const SendPlan& plan, SessionOptions options) {
  Session session(options);
  session.send(frames, plan);
  // Stop early if the server answers something it should not have (for example echoes invalid
  // text): the verdict is already FAILED, and waiting would only slow down the run.
  const Deadline deadline = deadline_in(kReplyDeadline);
  session.await_events(expect.before.size() + 1, deadline);
  if (session.observation().events.size() <= expect.before.size()) {
    session.await_close(deadline);
  }
  return judge_failure(session.observation(), expect);
}

// Fail-fast (Autobahn 6.4.x): sends a valid `prefix` and checks the server does not fail on it;
// sends `invalid`, after which the data can no longer become valid, and expects `code` within
// kFailFastWindow. If the server waits, the test sends `rest` and grades a late failure
// NON-STRICT: RFC 6455 §8.1 requires failing on invalid UTF-8 but does not say when.
Verdict run_fail_fast(std::string_view prefix, std::string_view invalid, std::string_view rest,
                      std::uint16_t code) {
  Session session;
  session.send_raw(prefix);
  session.await_close(deadline_in(kPrematureFailureWindow));
  if (session.closed()) {
    Verdict early = judge_failure(session.observation(), {code});
    return {
        Behavior::kFailed,
        "failed the connection on a valid prefix, before the invalid bytes were sent (" +
            (early.detail.empty() ? std::string("close ") + std::to_string(code) : early.detail) +
            ")"};
  }
  session.send_raw(invalid);
  session.await_close(deadline_in(kFailFastWindow));
  if (session.closed()) {
    return judge_failure(session.observation(), {code});
  }
  session.send_raw(rest);
  session.await_close(deadline_in(kReplyDeadline));
  Verdict late = judge_failure(session.observation(), {code});
  const std::string why =
      "did not fail within 1 s of receiving the invalid bytes; failed only "
      "after the rest of the data arrived (not fail-fast)";
  if (late.behavior == Behavior::kOk) {
    return {Behavior::kNonStrict, why};
  }
  return worst({Behavior::kNonStrict, why}, late);
}

ThreeParts split3(const std::string& bytes, std::size_t first, std::size_t second) {
  return {bytes.substr(0, first), bytes.substr(first, second), bytes.substr(first + second)};
}

// Header size of a masked frame with `payload_size` bytes.
std::size_t masked_header_size(std::size_t payload_size) {
  return (payload_size < 126 ? 2 : payload_size < 65536 ? 4 : 10) + 4;
}

std::vector<FrameSpec> one_byte_fragments(std::uint8_t first_opcode, std::string_view payload) {
  return fragment_message(first_opcode, payload, 1);
}

}  // namespace tester

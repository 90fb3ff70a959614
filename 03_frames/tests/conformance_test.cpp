// Conformance suite for the stage 03 echo server, written from RFC 6455 and modelled on the case
// sections of Autobahn|Testsuite (1-7, 9, 10) plus opening-handshake and robustness cases.
// Each case asserts the strict behaviour; NON-STRICT results fail with an explicit message and are
// counted separately in the "[conformance]" summary printed at the end of the run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "conformance_client.hpp"
#include "conformance_harness.hpp"
#include "echo_server.hpp"

namespace ws_test {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

// Byte-by-byte delivery: one byte per write with a short pause so that each byte really arrives
// on its own (TCP_NODELAY is set), as a slow or hostile client would send it.
const SendPlan kByteByByte{1, std::chrono::milliseconds(1)};
// Byte-by-byte without pauses, for payloads too long for a 1 ms pause per byte.
const SendPlan kByteByByteFast{1, std::chrono::milliseconds(0)};

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

// "κόσμε" (Greek "cosmos"), the classic UTF-8 sample: 2-, 3-, 2-, 2- and 2-byte code points.
const std::string kKosme = from_hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
// Autobahn 6.2.x sample with Latin-1 supplement letters.
const std::string kHelloUtf8 = "Hello-µ@ßöäüàá-UTF-8!!";

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
                 const SendPlan& plan = {}, Clock::duration budget = kReplyDeadline) {
  Session session;
  session.send(frames, plan);
  session.await_events(expected.size(), deadline_in(budget));
  if (!session.closed()) {
    session.close_with(close_frame(close_code::kNormal), deadline_in(budget));
  }
  return judge_clean_echo(session.observation(), expected);
}

// A violation: sends `frames` and grades how the server fails.
Verdict run_failure(const std::vector<FrameSpec>& frames, const FailureExpectation& expect,
                    const SendPlan& plan = {}) {
  Session session;
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
                      std::uint16_t code = close_code::kInvalidPayload) {
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

// Splits `bytes` into a prefix of `first` bytes, the next `second` bytes and the rest.
struct ThreeParts {
  std::string prefix, invalid, rest;
};
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

// ---------------------------------------------------------------------------------------------
// Section 1: framing of text and binary messages (RFC 6455 §5.2, §5.6)
// ---------------------------------------------------------------------------------------------

struct LengthCase {
  const char* name;
  std::uint8_t opcode;
  std::size_t length;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const LengthCase& c, std::ostream* os) {
  *os << c.name;
}

class ConformancePayloadLength : public ::testing::TestWithParam<LengthCase> {};

// Autobahn 1.1.1-1.1.7 (text) and 1.2.1-1.2.7 (binary); RFC 6455 §5.2 7/16/64-bit lengths.
TEST_P(ConformancePayloadLength, EchoesMessageOfThisLengthUnchanged) {
  const LengthCase& c = GetParam();
  const bool text = c.opcode == opcode::kText;
  const std::string payload = text ? ascii_payload(c.length) : binary_payload(c.length);
  FrameSpec frame = text ? text_frame(payload) : binary_frame(payload);
  expect_ok(run_echo({frame}, {text ? text_event(payload) : binary_event(payload)}));
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformancePayloadLength,
    ::testing::Values(LengthCase{"Case1_1_1_Text0", opcode::kText, 0},
                      LengthCase{"Case1_1_2_Text125", opcode::kText, 125},
                      LengthCase{"Case1_1_3_Text126", opcode::kText, 126},
                      LengthCase{"Case1_1_4_Text127", opcode::kText, 127},
                      LengthCase{"Case1_1_5_Text128", opcode::kText, 128},
                      LengthCase{"Case1_1_6_Text65535", opcode::kText, 65535},
                      LengthCase{"Case1_1_7_Text65536", opcode::kText, 65536},
                      LengthCase{"Case1_2_1_Binary0", opcode::kBinary, 0},
                      LengthCase{"Case1_2_2_Binary125", opcode::kBinary, 125},
                      LengthCase{"Case1_2_3_Binary126", opcode::kBinary, 126},
                      LengthCase{"Case1_2_4_Binary127", opcode::kBinary, 127},
                      LengthCase{"Case1_2_5_Binary128", opcode::kBinary, 128},
                      LengthCase{"Case1_2_6_Binary65535", opcode::kBinary, 65535},
                      LengthCase{"Case1_2_7_Binary65536", opcode::kBinary, 65536}),
    [](const auto& p) { return std::string(p.param.name); });

// Autobahn 1.1.8; RFC 6455 §5.2: a frame may arrive in any number of TCP segments.
TEST(Conformance, Case1_1_8_EchoesText65536SentIn997ByteChunks) {
  const std::string payload = ascii_payload(65536);
  expect_ok(run_echo({text_frame(payload)}, {text_event(payload)}, SendPlan{997, {}}));
}

// Autobahn 1.2.8; RFC 6455 §5.2.
TEST(Conformance, Case1_2_8_EchoesBinary65536SentIn997ByteChunks) {
  const std::string payload = binary_payload(65536);
  expect_ok(run_echo({binary_frame(payload)}, {binary_event(payload)}, SendPlan{997, {}}));
}

// Autobahn 1.x (byte-wise variant); RFC 6455 §5.2: the 16-bit length may arrive a byte at a time.
TEST(Conformance, Case1_1_x_EchoesText128SentByteByByte) {
  const std::string payload = ascii_payload(128);
  expect_ok(run_echo({text_frame(payload)}, {text_event(payload)}, kByteByByte));
}

// Autobahn 1.x (byte-wise variant); RFC 6455 §5.2.
TEST(Conformance, Case1_2_x_EchoesBinary128SentByteByByte) {
  const std::string payload = binary_payload(128);
  expect_ok(run_echo({binary_frame(payload)}, {binary_event(payload)}, kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 2: ping and pong (RFC 6455 §5.5.2, §5.5.3)
// ---------------------------------------------------------------------------------------------

// Autobahn 2.1; RFC 6455 §5.5.3: a pong carries the ping's application data.
TEST(Conformance, Case2_1_AnswersEmptyPingWithEmptyPong) {
  expect_ok(run_echo({ping_frame()}, {pong_event("")}));
}

// Autobahn 2.2; RFC 6455 §5.5.2-3.
TEST(Conformance, Case2_2_AnswersPingWithTextPayload) {
  expect_ok(run_echo({ping_frame("Hello, world!")}, {pong_event("Hello, world!")}));
}

// Autobahn 2.3; RFC 6455 §5.5.2-3: ping data is arbitrary bytes, not text.
TEST(Conformance, Case2_3_AnswersPingWithBinaryPayload) {
  const std::string payload = from_hex("00 ff fe fd fc fb 00 ff");
  expect_ok(run_echo({ping_frame(payload)}, {pong_event(payload)}));
}

// Autobahn 2.4; RFC 6455 §5.5: 125 bytes is the largest control payload.
TEST(Conformance, Case2_4_AnswersPingWith125BytePayload) {
  const std::string payload = binary_payload(125);
  expect_ok(run_echo({ping_frame(payload)}, {pong_event(payload)}));
}

// Autobahn 2.5; RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less.
TEST(Conformance, Case2_5_FailsOnPingWith126BytePayloadWith1002) {
  expect_ok(run_failure({ping_frame(binary_payload(126))}, {close_code::kProtocolError}));
}

// Autobahn 2.6; RFC 6455 §5.5.2.
TEST(Conformance, Case2_6_AnswersPing125SentByteByByte) {
  const std::string payload = binary_payload(125);
  expect_ok(run_echo({ping_frame(payload)}, {pong_event(payload)}, kByteByByte));
}

// Autobahn 2.7; RFC 6455 §5.5.3: an unsolicited pong expects no response.
TEST(Conformance, Case2_7_IgnoresUnsolicitedEmptyPong) { expect_ok(run_echo({pong_frame()}, {})); }

// Autobahn 2.8; RFC 6455 §5.5.3.
TEST(Conformance, Case2_8_IgnoresUnsolicitedPongWithPayload) {
  expect_ok(run_echo({pong_frame("unsolicited pong payload")}, {}));
}

// Autobahn 2.9; RFC 6455 §5.5.3: the pong answers the ping, not the earlier pong.
TEST(Conformance, Case2_9_AnswersPingAfterUnsolicitedPong) {
  expect_ok(run_echo({pong_frame("unsolicited pong payload"), ping_frame("ping payload")},
                     {pong_event("ping payload")}));
}

std::vector<FrameSpec> ten_pings() {
  std::vector<FrameSpec> frames;
  frames.reserve(10);
  for (int i = 0; i < 10; ++i) {
    frames.push_back(ping_frame("payload-" + std::to_string(i)));
  }
  return frames;
}

std::vector<Event> ten_pongs() {
  std::vector<Event> events;
  events.reserve(10);
  for (int i = 0; i < 10; ++i) {
    events.push_back(pong_event("payload-" + std::to_string(i)));
  }
  return events;
}

// Autobahn 2.10; RFC 6455 §5.5.2: every ping gets its own pong, in order.
TEST(Conformance, Case2_10_AnswersTenPingsInOrder) {
  expect_ok(run_echo(ten_pings(), ten_pongs()));
}

// Autobahn 2.11; RFC 6455 §5.5.2.
TEST(Conformance, Case2_11_AnswersTenPingsSentByteByByteInOrder) {
  expect_ok(run_echo(ten_pings(), ten_pongs(), kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 3: reserved bits (RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them)
// ---------------------------------------------------------------------------------------------

FrameSpec with_rsv(FrameSpec frame, std::uint8_t bits) {
  frame.rsv = bits;
  return frame;
}

// Autobahn 3.1; RFC 6455 §5.2. "RSV = n" is the 3-bit field, RSV1 its high bit (rsv::kRsv1).
TEST(Conformance, Case3_1_FailsOnTextWithRsvEquals1With1002) {
  expect_ok(run_failure({with_rsv(text_frame("Hello, world!"), 1)}, {close_code::kProtocolError}));
}

// Autobahn 3.2; RFC 6455 §5.2: the valid message before the bad frame is still echoed.
TEST(Conformance, Case3_2_FailsOnTextWithRsvEquals2AfterValidEchoWith1002) {
  expect_ok(run_failure(
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 2), ping_frame()},
      {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

// Autobahn 3.3; RFC 6455 §5.2.
TEST(Conformance, Case3_3_FailsOnTextWithRsvEquals3SentFrameByFrameWith1002) {
  Session session;
  send_frame_by_frame(
      session,
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 3), ping_frame()},
      std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_failure(session.observation(),
                          {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

// Autobahn 3.4; RFC 6455 §5.2.
TEST(Conformance, Case3_4_FailsOnTextWithRsvEquals4SentByteByByteWith1002) {
  expect_ok(run_failure(
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 4), ping_frame()},
      {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// Autobahn 3.5; RFC 6455 §5.2.
TEST(Conformance, Case3_5_FailsOnBinaryWithRsvEquals5With1002) {
  expect_ok(
      run_failure({with_rsv(binary_frame(binary_payload(8)), 5)}, {close_code::kProtocolError}));
}

// Autobahn 3.6; RFC 6455 §5.2: the rule holds for control frames too.
TEST(Conformance, Case3_6_FailsOnPingWithRsvEquals6With1002) {
  expect_ok(run_failure({with_rsv(ping_frame("Hello, world!"), 6)}, {close_code::kProtocolError}));
}

// Autobahn 3.7; RFC 6455 §5.2: a close frame with RSV bits is a violation, not a close.
TEST(Conformance, Case3_7_FailsOnCloseWithRsvEquals7With1002) {
  expect_ok(
      run_failure({with_rsv(close_frame(close_code::kNormal), 7)}, {close_code::kProtocolError}));
}

struct RsvCase {
  const char* name;
  std::uint8_t opcode;
  std::uint8_t bits;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const RsvCase& c, std::ostream* os) {
  *os << c.name;
}

class ConformanceRsvAfterEcho : public ::testing::TestWithParam<RsvCase> {};

// Autobahn 3.x generalised: each RSV bit on each kind of frame, after a valid echo; RFC 6455 §5.2.
TEST_P(ConformanceRsvAfterEcho, FailsWith1002AfterEchoingTheValidMessage) {
  const RsvCase& c = GetParam();
  FrameSpec bad;
  switch (c.opcode) {
    case opcode::kText:
      bad = text_frame("reserved bit");
      break;
    case opcode::kBinary:
      bad = binary_frame(binary_payload(12));
      break;
    case opcode::kPing:
      bad = ping_frame("reserved bit");
      break;
    default:
      bad = close_frame(close_code::kNormal, "reserved bit");
      break;
  }
  expect_ok(run_failure({text_frame("valid first"), with_rsv(bad, c.bits)},
                        {close_code::kProtocolError, {text_event("valid first")}}));
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceRsvAfterEcho,
                         ::testing::Values(RsvCase{"TextRsv1", opcode::kText, rsv::kRsv1},
                                           RsvCase{"TextRsv2", opcode::kText, rsv::kRsv2},
                                           RsvCase{"TextRsv3", opcode::kText, rsv::kRsv3},
                                           RsvCase{"BinaryRsv1", opcode::kBinary, rsv::kRsv1},
                                           RsvCase{"BinaryRsv2", opcode::kBinary, rsv::kRsv2},
                                           RsvCase{"BinaryRsv3", opcode::kBinary, rsv::kRsv3},
                                           RsvCase{"PingRsv1", opcode::kPing, rsv::kRsv1},
                                           RsvCase{"PingRsv2", opcode::kPing, rsv::kRsv2},
                                           RsvCase{"PingRsv3", opcode::kPing, rsv::kRsv3},
                                           RsvCase{"CloseRsv1", opcode::kClose, rsv::kRsv1},
                                           RsvCase{"CloseRsv2", opcode::kClose, rsv::kRsv2},
                                           RsvCase{"CloseRsv3", opcode::kClose, rsv::kRsv3}),
                         [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Section 4: reserved opcodes (RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved; an endpoint
// receiving an unknown opcode MUST fail the connection)
// ---------------------------------------------------------------------------------------------

struct OpcodeCase {
  std::uint8_t opcode;
  bool with_payload;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const OpcodeCase& c, std::ostream* os) {
  *os << "opcode " << int{c.opcode} << (c.with_payload ? " with payload" : " empty");
}

class ConformanceReservedOpcode : public ::testing::TestWithParam<OpcodeCase> {};

// Autobahn 4.1.1-4.1.4 and 4.2.1-4.2.4 generalised to every reserved opcode; RFC 6455 §5.2.
// Without payload the frame comes alone; with payload it follows a valid echo and precedes a
// ping that must not be answered.
TEST_P(ConformanceReservedOpcode, FailsWith1002) {
  const OpcodeCase& c = GetParam();
  FrameSpec reserved = text_frame(c.with_payload ? "reserved opcode payload" : "");
  reserved.opcode = c.opcode;
  if (!c.with_payload) {
    expect_ok(run_failure({reserved}, {close_code::kProtocolError}));
    return;
  }
  expect_ok(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                        {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceReservedOpcode, ::testing::ValuesIn([] {
                           std::vector<OpcodeCase> cases;
                           for (const int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
                             cases.push_back({static_cast<std::uint8_t>(op), false});
                             cases.push_back({static_cast<std::uint8_t>(op), true});
                           }
                           return cases;
                         }()),
                         [](const auto& p) {
                           return "Opcode" + std::to_string(p.param.opcode) +
                                  (p.param.with_payload ? "WithPayloadAfterEcho" : "Empty");
                         });

// Autobahn 4.1.5; RFC 6455 §5.2: detection must not depend on how the bytes arrive.
TEST(Conformance, Case4_1_5_FailsOnOpcode7SentByteByByteWith1002) {
  FrameSpec reserved = text_frame("reserved opcode payload");
  reserved.opcode = 7;
  expect_ok(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                        {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// Autobahn 4.2.5; RFC 6455 §5.2.
TEST(Conformance, Case4_2_5_FailsOnOpcode15SentByteByByteWith1002) {
  FrameSpec reserved = text_frame("reserved opcode payload");
  reserved.opcode = 15;
  expect_ok(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                        {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 5: fragmentation (RFC 6455 §5.4)
// ---------------------------------------------------------------------------------------------

// Autobahn 5.1; RFC 6455 §5.4/§5.5: control frames MUST NOT be fragmented.
TEST(Conformance, Case5_1_FailsOnFragmentedPingWith1002) {
  FrameSpec first = ping_frame("fragment1");
  first.fin = false;
  expect_ok(run_failure({first, continuation_frame("fragment2")}, {close_code::kProtocolError}));
}

// Autobahn 5.2; RFC 6455 §5.4/§5.5.
TEST(Conformance, Case5_2_FailsOnFragmentedPongWith1002) {
  FrameSpec first = pong_frame("fragment1");
  first.fin = false;
  expect_ok(run_failure({first, continuation_frame("fragment2")}, {close_code::kProtocolError}));
}

std::vector<FrameSpec> two_fragments() {
  return {text_frame("fragment1", false), continuation_frame("fragment2")};
}

// Autobahn 5.3; RFC 6455 §5.4: fragments reassemble into one message.
TEST(Conformance, Case5_3_EchoesTextSentInTwoFragments) {
  expect_ok(run_echo(two_fragments(), {text_event("fragment1fragment2")}));
}

// Autobahn 5.4; RFC 6455 §5.4.
TEST(Conformance, Case5_4_EchoesTwoFragmentsSentFrameByFrame) {
  Session session;
  send_frame_by_frame(session, two_fragments(), std::chrono::milliseconds(50));
  session.await_events(1, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {text_event("fragment1fragment2")}));
}

// Autobahn 5.5; RFC 6455 §5.4.
TEST(Conformance, Case5_5_EchoesTwoFragmentsSentByteByByte) {
  expect_ok(run_echo(two_fragments(), {text_event("fragment1fragment2")}, kByteByByte));
}

std::vector<FrameSpec> ping_between_fragments() {
  return {text_frame("fragment1", false), ping_frame("ping payload"),
          continuation_frame("fragment2")};
}

// Autobahn 5.6; RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented
// message and are answered right away.
TEST(Conformance, Case5_6_AnswersPingBetweenFragments) {
  expect_ok(run_echo(ping_between_fragments(),
                     {pong_event("ping payload"), text_event("fragment1fragment2")}));
}

// Autobahn 5.7; RFC 6455 §5.4.
TEST(Conformance, Case5_7_AnswersPingBetweenFragmentsSentFrameByFrame) {
  Session session;
  send_frame_by_frame(session, ping_between_fragments(), std::chrono::milliseconds(50));
  session.await_events(2, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(),
                             {pong_event("ping payload"), text_event("fragment1fragment2")}));
}

// Autobahn 5.8; RFC 6455 §5.4.
TEST(Conformance, Case5_8_AnswersPingBetweenFragmentsSentByteByByte) {
  expect_ok(run_echo(ping_between_fragments(),
                     {pong_event("ping payload"), text_event("fragment1fragment2")}, kByteByByte));
}

// Autobahn 5.x (pong variant of 5.6); RFC 6455 §5.4, §5.5.3: an unsolicited pong between
// fragments is ignored and does not disturb reassembly.
TEST(Conformance, Case5_x_IgnoresPongBetweenFragments) {
  expect_ok(run_echo(
      {text_frame("fragment1", false), pong_frame("unsolicited"), continuation_frame("fragment2")},
      {text_event("fragment1fragment2")}));
}

// Autobahn 5.x (pong and ping variant, byte-wise); RFC 6455 §5.4.
TEST(Conformance, Case5_x_AnswersPingAndIgnoresPongBetweenFragmentsSentByteByByte) {
  expect_ok(run_echo({text_frame("fragment1", false), pong_frame("unsolicited"),
                      continuation_frame("fragment2", false), ping_frame("ping payload"),
                      continuation_frame("fragment3")},
                     {pong_event("ping payload"), text_event("fragment1fragment2fragment3")},
                     kByteByByte));
}

std::vector<FrameSpec> orphan_continuation(bool fin) {
  return {continuation_frame("non-continuation payload", fin), text_frame("Hello, world!")};
}

// Autobahn 5.9; RFC 6455 §5.4: a continuation frame with no message open is a violation.
TEST(Conformance, Case5_9_FailsOnFinalContinuationWithoutStartWith1002) {
  expect_ok(run_failure(orphan_continuation(true), {close_code::kProtocolError}));
}

// Autobahn 5.10; RFC 6455 §5.4.
TEST(Conformance, Case5_10_FailsOnFinalContinuationWithoutStartFrameByFrameWith1002) {
  Session session;
  send_frame_by_frame(session, orphan_continuation(true), std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_failure(session.observation(), {close_code::kProtocolError}));
}

// Autobahn 5.11; RFC 6455 §5.4.
TEST(Conformance, Case5_11_FailsOnFinalContinuationWithoutStartByteByByteWith1002) {
  expect_ok(run_failure(orphan_continuation(true), {close_code::kProtocolError}, kByteByByte));
}

// Autobahn 5.12; RFC 6455 §5.4.
TEST(Conformance, Case5_12_FailsOnNonFinalContinuationWithoutStartWith1002) {
  expect_ok(run_failure(orphan_continuation(false), {close_code::kProtocolError}));
}

// Autobahn 5.13; RFC 6455 §5.4.
TEST(Conformance, Case5_13_FailsOnNonFinalContinuationWithoutStartFrameByFrameWith1002) {
  Session session;
  send_frame_by_frame(session, orphan_continuation(false), std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_failure(session.observation(), {close_code::kProtocolError}));
}

// Autobahn 5.14; RFC 6455 §5.4.
TEST(Conformance, Case5_14_FailsOnNonFinalContinuationWithoutStartByteByByteWith1002) {
  expect_ok(run_failure(orphan_continuation(false), {close_code::kProtocolError}, kByteByByte));
}

// Autobahn 5.15; RFC 6455 §5.4: once FIN ended the message, a continuation has nothing to
// continue. The first message must be echoed before the failure.
TEST(Conformance, Case5_15_FailsOnContinuationAfterCompletedMessageWith1002) {
  expect_ok(run_failure({text_frame("fragment1", false), continuation_frame("fragment2", true),
                         continuation_frame("fragment3", false), text_frame("fragment4")},
                        {close_code::kProtocolError, {text_event("fragment1fragment2")}}));
}

// Autobahn 5.16; RFC 6455 §5.4.
TEST(Conformance, Case5_16_FailsOnRepeatedOrphanNonFinalContinuationWith1002) {
  std::vector<FrameSpec> frames;
  for (int i = 0; i < 2; ++i) {
    frames.push_back(continuation_frame("fragment1", false));
    frames.push_back(text_frame("fragment2", false));
    frames.push_back(continuation_frame("fragment3", true));
  }
  expect_ok(run_failure(frames, {close_code::kProtocolError}));
}

// Autobahn 5.17; RFC 6455 §5.4.
TEST(Conformance, Case5_17_FailsOnRepeatedOrphanFinalContinuationWith1002) {
  std::vector<FrameSpec> frames;
  for (int i = 0; i < 2; ++i) {
    frames.push_back(continuation_frame("fragment1", true));
    frames.push_back(text_frame("fragment2", false));
    frames.push_back(continuation_frame("fragment3", true));
  }
  expect_ok(run_failure(frames, {close_code::kProtocolError}));
}

// Autobahn 5.18; RFC 6455 §5.4: messages may not interleave, so a new text frame inside a
// fragmented message is a violation.
TEST(Conformance, Case5_18_FailsOnNewTextInsideFragmentedTextWith1002) {
  expect_ok(run_failure({text_frame("fragment1", false), text_frame("fragment2")},
                        {close_code::kProtocolError}));
}

// Autobahn 5.18 (binary variant); RFC 6455 §5.4.
TEST(Conformance, Case5_x_FailsOnBinaryInsideFragmentedTextWith1002) {
  expect_ok(run_failure({text_frame("fragment1", false), binary_frame("fragment2")},
                        {close_code::kProtocolError}));
}

std::vector<FrameSpec> five_fragments_with_pings() {
  return {text_frame("fragment1", false),
          continuation_frame("fragment2", false),
          ping_frame("pongme 1!"),
          continuation_frame("fragment3", false),
          continuation_frame("fragment4", false),
          ping_frame("pongme 2!"),
          continuation_frame("fragment5", true)};
}

// Autobahn 5.19; RFC 6455 §5.4: pings between fragments arriving over time.
TEST(Conformance, Case5_19_AnswersPingsBetweenFiveFragmentsSentWithPauses) {
  Session session;
  send_frame_by_frame(session, five_fragments_with_pings(), std::chrono::milliseconds(100));
  session.await_events(3, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(),
                             {pong_event("pongme 1!"), pong_event("pongme 2!"),
                              text_event("fragment1fragment2fragment3fragment4fragment5")}));
}

// Autobahn 5.20; RFC 6455 §5.4.
TEST(Conformance, Case5_20_AnswersPingsBetweenFiveFragmentsSentByteByByte) {
  expect_ok(run_echo(five_fragments_with_pings(),
                     {pong_event("pongme 1!"), pong_event("pongme 2!"),
                      text_event("fragment1fragment2fragment3fragment4fragment5")},
                     kByteByByteFast));
}

// ---------------------------------------------------------------------------------------------
// Section 6: UTF-8 in text messages (RFC 6455 §5.6, §8.1; RFC 3629)
// ---------------------------------------------------------------------------------------------

// Autobahn 6.1.1; RFC 6455 §5.6: an empty text message is valid.
TEST(Conformance, Case6_1_1_EchoesEmptyText) {
  expect_ok(run_echo({text_frame("")}, {text_event("")}));
}

// Autobahn 6.1.2; RFC 6455 §5.4: empty fragments are allowed.
TEST(Conformance, Case6_1_2_EchoesTextOfThreeEmptyFragments) {
  expect_ok(run_echo({text_frame("", false), continuation_frame("", false), continuation_frame("")},
                     {text_event("")}));
}

// Autobahn 6.1.3; RFC 6455 §5.4.
TEST(Conformance, Case6_1_3_EchoesTextWithEmptyFirstAndLastFragments) {
  expect_ok(run_echo({text_frame("", false), continuation_frame("middle frame payload", false),
                      continuation_frame("")},
                     {text_event("middle frame payload")}));
}

// Autobahn 6.2.1; RFC 6455 §5.6.
TEST(Conformance, Case6_2_1_EchoesMultiByteTextInOneFrame) {
  expect_ok(run_echo({text_frame(kHelloUtf8)}, {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.2; RFC 6455 §5.6: fragments split on code point boundaries.
TEST(Conformance, Case6_2_2_EchoesMultiByteTextFragmentedAtCodePoints) {
  std::vector<FrameSpec> frames;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= kHelloUtf8.size(); ++i) {
    const bool boundary =
        i == kHelloUtf8.size() || (static_cast<std::uint8_t>(kHelloUtf8[i]) & 0xC0U) != 0x80U;
    if (!boundary) {
      continue;
    }
    const std::string piece = kHelloUtf8.substr(start, i - start);
    const bool fin = i == kHelloUtf8.size();
    frames.push_back(frames.empty() ? text_frame(piece, fin) : continuation_frame(piece, fin));
    start = i;
  }
  expect_ok(run_echo(frames, {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.3; RFC 6455 §5.6: validity is a property of the whole message, so a code point may
// span fragments.
TEST(Conformance, Case6_2_3_EchoesMultiByteTextInOneByteFragments) {
  expect_ok(run_echo(one_byte_fragments(opcode::kText, kHelloUtf8), {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.4; RFC 6455 §5.6.
TEST(Conformance, Case6_2_4_EchoesKosmeInOneByteFragments) {
  expect_ok(run_echo(one_byte_fragments(opcode::kText, kKosme), {text_event(kKosme)}));
}

// Autobahn 6.2.x (every split point); RFC 6455 §5.6: the message split in two at each byte
// boundary, one message per split point on one connection.
TEST(Conformance, Case6_2_x_EchoesMultiByteTextSplitInTwoAtEveryByte) {
  const std::string message = kHelloUtf8 + kKosme + "𝄞";
  std::vector<FrameSpec> frames;
  std::vector<Event> expected;
  for (std::size_t split = 1; split < message.size(); ++split) {
    frames.push_back(text_frame(message.substr(0, split), false));
    frames.push_back(continuation_frame(message.substr(split)));
    expected.push_back(text_event(message));
  }
  expect_ok(run_echo(frames, expected));
}

const std::string kKosmeSurrogateEdited = kKosme + from_hex("ed a0 80") + "edited";

// Autobahn 6.3.1; RFC 6455 §8.1: invalid UTF-8 (here a UTF-16 surrogate) fails with 1007.
TEST(Conformance, Case6_3_1_FailsOnSurrogateInTextWith1007) {
  expect_ok(run_failure({text_frame(kKosmeSurrogateEdited)}, {close_code::kInvalidPayload}));
}

// Autobahn 6.3.2; RFC 6455 §8.1.
TEST(Conformance, Case6_3_2_FailsOnSurrogateInOneByteFragmentsWith1007) {
  expect_ok(run_failure(one_byte_fragments(opcode::kText, kKosmeSurrogateEdited),
                        {close_code::kInvalidPayload}));
}

// Autobahn 6.x; RFC 6455 §8.1: an invalid sequence split across two fragments is still invalid.
TEST(Conformance, Case6_x_FailsOnSurrogateSplitAcrossFragmentsWith1007) {
  expect_ok(run_failure({text_frame(kKosme + from_hex("ed"), false),
                         continuation_frame(from_hex("a0 80") + "edited")},
                        {close_code::kInvalidPayload}));
}

// Autobahn 6.x; RFC 6455 §8.1: a sequence cut off by the final (empty) fragment is invalid.
TEST(Conformance, Case6_x_FailsOnSequenceTruncatedByEmptyFinalFragmentWith1007) {
  expect_ok(run_failure({text_frame(kKosme + from_hex("ce"), false), continuation_frame("")},
                        {close_code::kInvalidPayload}));
}

// The 6.4.x payload: κόσμε, then U+110000 encoded as F4 90 80 80 (above U+10FFFF), then "edited".
const std::string kKosmeTooLargeEdited = kKosme + from_hex("f4 90 80 80") + "edited";

// Autobahn 6.4.1; RFC 6455 §8.1: the second fragment makes the message invalid; the server must
// fail then, without waiting for the third.
TEST(Conformance, Case6_4_1_FailsFastOnInvalidUtf8InSecondFragmentWith1007) {
  expect_ok(run_fail_fast(encode_frame(text_frame(kKosme, false)),
                          encode_frame(continuation_frame(from_hex("f4 90 80 80"), false)),
                          encode_frame(continuation_frame("edited"))));
}

// Autobahn 6.4.2; RFC 6455 §8.1: F4 ends the first fragment (a valid prefix); the 0x90 that
// follows can never be completed into a code point <= U+10FFFF.
TEST(Conformance, Case6_4_2_FailsFastOnInvalidUtf8ByteMidCodePointAcrossFragmentsWith1007) {
  expect_ok(run_fail_fast(encode_frame(text_frame(kKosme + from_hex("f4"), false)),
                          encode_frame(continuation_frame(from_hex("90"), false)),
                          encode_frame(continuation_frame(from_hex("80 80") + "edited"))));
}

// Autobahn 6.4.3; RFC 6455 §8.1: one frame delivered in three parts; the server must fail on the
// invalid bytes before the rest of the frame is sent.
TEST(Conformance, Case6_4_3_FailsFastOnInvalidUtf8MidFrameWith1007) {
  const std::string frame = encode_frame(text_frame(kKosmeTooLargeEdited));
  const ThreeParts parts =
      split3(frame, masked_header_size(kKosmeTooLargeEdited.size()) + kKosme.size(), 4);
  expect_ok(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
}

// Autobahn 6.4.4; RFC 6455 §8.1: as 6.4.3, but the frame stops right after F4 and the next part
// is the single byte 0x90 that makes the sequence impossible.
TEST(Conformance, Case6_4_4_FailsFastOnInvalidUtf8ByteMidCodePointMidFrameWith1007) {
  const std::string frame = encode_frame(text_frame(kKosmeTooLargeEdited));
  const ThreeParts parts =
      split3(frame, masked_header_size(kKosmeTooLargeEdited.size()) + kKosme.size() + 1, 1);
  expect_ok(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
}

struct Utf8Case {
  const char* name;
  std::string bytes;
  bool valid;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const Utf8Case& c, std::ostream* os) {
  *os << c.name;
}

std::vector<Utf8Case> utf8_cases() {
  return {
      // Valid: Autobahn 6.2, 6.5, 6.7 (first code point of each length), 6.9-6.11 (boundaries),
      // 6.22 (noncharacters are valid UTF-8), 6.23 (U+FFFD).
      {"Case6_2_1_HelloLatin1", kHelloUtf8, true},
      {"Case6_5_1_Kosme", kKosme, true},
      {"Case6_7_1_U0000", from_hex("00"), true},
      {"Case6_7_2_U0080", from_hex("c2 80"), true},
      {"Case6_7_3_U0800", from_hex("e0 a0 80"), true},
      {"Case6_7_4_U10000", from_hex("f0 90 80 80"), true},
      {"Case6_9_1_U007F", from_hex("7f"), true},
      {"Case6_9_2_U07FF", from_hex("df bf"), true},
      {"Case6_9_3_UFFFF", from_hex("ef bf bf"), true},
      {"Case6_9_4_U10FFFF", from_hex("f4 8f bf bf"), true},
      {"Case6_11_1_UD7FF", from_hex("ed 9f bf"), true},
      {"Case6_11_2_UE000", from_hex("ee 80 80"), true},
      {"Case6_11_3_UFFFD", from_hex("ef bf bd"), true},
      {"Case6_22_1_UFFFE", from_hex("ef bf be"), true},
      {"Case6_22_2_U1FFFF", from_hex("f0 9f bf bf"), true},
      {"Case6_22_3_U10FFFE", from_hex("f4 8f bf be"), true},
      {"Case6_23_1_AllBoundariesTogether",
       from_hex("7f c2 80 df bf e0 a0 80 ef bf bf f0 90 80 80 f4 8f bf bf"), true},
      // Invalid: Autobahn 6.8 (5/6-byte forms), 6.10 (above U+10FFFF), 6.12 (stray continuation
      // bytes), 6.13 (lonely start bytes), 6.14 (last byte missing), 6.15 (concatenated
      // incomplete sequences), 6.16 (impossible bytes), 6.17-6.19 (overlong), 6.20-6.21
      // (surrogates).
      {"Case6_8_1_FiveByteForm", from_hex("f8 88 80 80 80"), false},
      {"Case6_8_2_SixByteForm", from_hex("fc 84 80 80 80 80"), false},
      {"Case6_10_1_U110000", from_hex("f4 90 80 80"), false},
      {"Case6_10_2_U1FFFFF", from_hex("f7 bf bf bf"), false},
      {"Case6_10_3_LeadF5", from_hex("f5 80 80 80"), false},
      {"Case6_12_1_LoneContinuation80", from_hex("80"), false},
      {"Case6_12_2_LoneContinuationBF", from_hex("bf"), false},
      {"Case6_12_3_ContinuationPair", from_hex("80 bf"), false},
      {"Case6_12_4_ContinuationRun", from_hex("80 bf 80 bf"), false},
      {"Case6_13_1_LoneC0BeforeSpace", from_hex("c0 20"), false},
      {"Case6_13_2_LoneC2BeforeSpace", from_hex("c2 20"), false},
      {"Case6_13_3_LoneE0BeforeSpace", from_hex("e0 20"), false},
      {"Case6_13_4_LoneF0BeforeSpace", from_hex("f0 20"), false},
      {"Case6_14_1_TruncatedTwoByte", from_hex("c2"), false},
      {"Case6_14_2_TruncatedThreeByte", from_hex("e0 a0"), false},
      {"Case6_14_3_TruncatedFourByte", from_hex("f0 90 80"), false},
      {"Case6_14_4_TruncatedMaxTwoByte", from_hex("df"), false},
      {"Case6_14_5_TruncatedMaxThreeByte", from_hex("ef bf"), false},
      {"Case6_14_6_TruncatedMaxFourByte", from_hex("f4 8f bf"), false},
      {"Case6_14_7_KosmeThenTruncated", kKosme + from_hex("ce"), false},
      {"Case6_15_1_ConcatenatedTruncated", from_hex("c2 e0 a0 f0 90 80"), false},
      {"Case6_16_1_ByteFE", from_hex("fe"), false},
      {"Case6_16_2_ByteFF", from_hex("ff"), false},
      {"Case6_16_3_FEFEFFFF", from_hex("fe fe ff ff"), false},
      {"Case6_17_1_OverlongSlash2", from_hex("c0 af"), false},
      {"Case6_17_2_OverlongSlash3", from_hex("e0 80 af"), false},
      {"Case6_17_3_OverlongSlash4", from_hex("f0 80 80 af"), false},
      {"Case6_17_4_OverlongSlash5", from_hex("f8 80 80 80 af"), false},
      {"Case6_18_1_MaxOverlong2", from_hex("c1 bf"), false},
      {"Case6_18_2_MaxOverlong3", from_hex("e0 9f bf"), false},
      {"Case6_18_3_MaxOverlong4", from_hex("f0 8f bf bf"), false},
      {"Case6_19_1_OverlongNul2", from_hex("c0 80"), false},
      {"Case6_19_2_OverlongNul3", from_hex("e0 80 80"), false},
      {"Case6_19_3_OverlongNul4", from_hex("f0 80 80 80"), false},
      {"Case6_20_1_UD800", from_hex("ed a0 80"), false},
      {"Case6_20_2_UDB7F", from_hex("ed ad bf"), false},
      {"Case6_20_3_UDB80", from_hex("ed ae 80"), false},
      {"Case6_20_4_UDBFF", from_hex("ed af bf"), false},
      {"Case6_20_5_UDC00", from_hex("ed b0 80"), false},
      {"Case6_20_6_UDF80", from_hex("ed be 80"), false},
      {"Case6_20_7_UDFFF", from_hex("ed bf bf"), false},
      {"Case6_21_1_PairD800DC00", from_hex("ed a0 80 ed b0 80"), false},
      {"Case6_21_2_PairDBFFDFFF", from_hex("ed af bf ed bf bf"), false},
      {"Case6_x_OverlongInsideText", "Hello" + from_hex("c0 af") + "World", false},
  };
}

class ConformanceUtf8 : public ::testing::TestWithParam<Utf8Case> {};

// Autobahn 6.5-6.23 (single frame); RFC 6455 §5.6, §8.1 with RFC 3629 §3-4: valid text is
// echoed, invalid text fails with 1007.
TEST_P(ConformanceUtf8, InOneFrameIsEchoedIfValidElseFailsWith1007) {
  const Utf8Case& c = GetParam();
  if (c.valid) {
    expect_ok(run_echo({text_frame(c.bytes)}, {text_event(c.bytes)}));
  } else {
    expect_ok(run_failure({text_frame(c.bytes)}, {close_code::kInvalidPayload}));
  }
}

// Autobahn 6.5-6.23 (one byte per fragment); RFC 6455 §5.6, §8.1: the verdict may not change
// when code points are split across fragments.
TEST_P(ConformanceUtf8, InOneByteFragmentsIsEchoedIfValidElseFailsWith1007) {
  const Utf8Case& c = GetParam();
  if (c.valid) {
    expect_ok(run_echo(one_byte_fragments(opcode::kText, c.bytes), {text_event(c.bytes)}));
  } else {
    expect_ok(
        run_failure(one_byte_fragments(opcode::kText, c.bytes), {close_code::kInvalidPayload}));
  }
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceUtf8, ::testing::ValuesIn(utf8_cases()),
                         [](const auto& p) { return std::string(p.param.name); });

class ConformanceKosmePrefix : public ::testing::TestWithParam<std::size_t> {};

// Autobahn 6.6.1-6.6.11; RFC 6455 §8.1: each prefix of κόσμε is valid exactly when it ends on a
// code point boundary (after 2, 5, 7, 9 or 11 bytes).
TEST_P(ConformanceKosmePrefix, IsEchoedIfItEndsOnACodePointElseFailsWith1007) {
  const std::size_t length = GetParam();
  const std::string prefix = kKosme.substr(0, length);
  const bool valid = length == 2 || length == 5 || length == 7 || length == 9 || length == 11;
  if (valid) {
    expect_ok(run_echo({text_frame(prefix)}, {text_event(prefix)}));
  } else {
    expect_ok(run_failure({text_frame(prefix)}, {close_code::kInvalidPayload}));
  }
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceKosmePrefix, ::testing::Range<std::size_t>(1, 12),
                         [](const auto& p) {
                           return "Case6_6_" + std::to_string(p.param) + "_Prefix" +
                                  std::to_string(p.param) + "Bytes";
                         });

struct FailFastCase {
  const char* name;
  std::string invalid;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const FailFastCase& c, std::ostream* os) {
  *os << c.name;
}

class ConformanceFailFast : public ::testing::TestWithParam<FailFastCase> {};

// Autobahn 6.4.3 generalised; RFC 6455 §8.1: a 300-byte text frame whose first bytes are κόσμε
// followed by an invalid sequence; the server must close with 1007 before the remaining ~280
// bytes of the frame are sent.
TEST_P(ConformanceFailFast, FailsWith1007BeforeTheRestOfTheFrameArrives) {
  const FailFastCase& c = GetParam();
  std::string payload = kKosme + c.invalid;
  payload += ascii_payload(300 - payload.size());
  const std::string frame = encode_frame(text_frame(payload));
  const ThreeParts parts =
      split3(frame, masked_header_size(payload.size()) + kKosme.size(), c.invalid.size());
  expect_ok(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformanceFailFast,
    ::testing::Values(FailFastCase{"Case6_4_x_Overlong", from_hex("c0 af")},
                      FailFastCase{"Case6_4_x_Surrogate", from_hex("ed a0 80")},
                      FailFastCase{"Case6_4_x_AboveU10FFFF", from_hex("f4 90 80 80")},
                      FailFastCase{"Case6_4_x_ByteF5", from_hex("f5")},
                      FailFastCase{"Case6_4_x_ByteFF", from_hex("ff")},
                      FailFastCase{"Case6_4_x_LoneContinuation", from_hex("80")}),
    [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Section 7: the closing handshake (RFC 6455 §5.5.1, §7)
// ---------------------------------------------------------------------------------------------

// Autobahn 7.1.1; RFC 6455 §7.1.2: a message, then a clean close.
TEST(Conformance, Case7_1_1_EchoesTextThenClosesCleanly) {
  expect_ok(run_echo({text_frame("Hello World!")}, {text_event("Hello World!")}));
}

// Autobahn 7.1.2; RFC 6455 §5.5.1: the server answers the first close only.
TEST(Conformance, Case7_1_2_AnswersOnlyTheFirstOfTwoCloses) {
  Session session;
  session.send({close_frame(close_code::kNormal), close_frame(close_code::kNormal)});
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.3; RFC 6455 §5.5.1: after a close, the peer's further frames are not processed.
TEST(Conformance, Case7_1_3_IgnoresPingAfterClose) {
  Session session;
  session.send({close_frame(close_code::kNormal), ping_frame("out of band ping")});
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.4; RFC 6455 §5.5.1.
TEST(Conformance, Case7_1_4_IgnoresTextAfterClose) {
  Session session;
  session.send({close_frame(close_code::kNormal), text_frame("out of band text")});
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.5; RFC 6455 §5.4, §5.5.1: a close may interrupt a fragmented message; the
// unfinished message is dropped and the close is answered.
TEST(Conformance, Case7_1_5_ClosesCleanlyAfterFragmentOfUnfinishedMessage) {
  Session session;
  session.send({text_frame("fragment1", false), close_frame(close_code::kNormal),
                continuation_frame("fragment2")});
  session.await_close(deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.1; RFC 6455 §5.5.1, §7.1.5: a close without a body; the answer is either empty
// or 1000.
TEST(Conformance, Case7_3_1_AnswersEmptyCloseWithEmptyOr1000) {
  Session session;
  session.close_with(empty_close_frame(), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}, CloseEcho{std::nullopt}));
}

// Autobahn 7.3.2; RFC 6455 §5.5.1: a body, if present, starts with a 2-byte code.
TEST(Conformance, Case7_3_2_FailsOnCloseWithOneBytePayloadWith1002) {
  FrameSpec close = empty_close_frame();
  close.payload = "a";
  expect_ok(run_failure({close}, {close_code::kProtocolError}));
}

// Autobahn 7.3.3; RFC 6455 §5.5.1.
TEST(Conformance, Case7_3_3_EchoesCloseWithCodeOnly) {
  Session session;
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.4; RFC 6455 §5.5.1: code plus UTF-8 reason.
TEST(Conformance, Case7_3_4_EchoesCloseWithCodeAndReason) {
  Session session;
  session.close_with(close_frame(close_code::kNormal, "Hello World!"), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.5; RFC 6455 §5.5: 2 + 123 = 125 bytes, the largest legal close body.
TEST(Conformance, Case7_3_5_EchoesCloseWith123ByteReason) {
  Session session;
  session.close_with(close_frame(close_code::kNormal, std::string(123, '*')),
                     deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.6; RFC 6455 §5.5: 2 + 124 = 126 bytes is too long for a control frame.
TEST(Conformance, Case7_3_6_FailsOnCloseWith124ByteReasonWith1002) {
  expect_ok(run_failure({close_frame(close_code::kNormal, std::string(124, '*'))},
                        {close_code::kProtocolError}));
}

// Autobahn 7.5.1; RFC 6455 §5.5.1, §8.1: the close reason is UTF-8 and is validated.
TEST(Conformance, Case7_5_1_FailsOnCloseReasonWithInvalidUtf8With1007) {
  FailureExpectation expect{close_code::kInvalidPayload};
  // RFC 6455 §7.4.1 defines 1007 for non-UTF-8 data "within a message"; a close reason is not a
  // message, so 1002 is a defensible reading (Autobahn 7.5.1 accepts both).
  expect.non_strict_codes = {close_code::kProtocolError};
  expect.non_strict_reason = "1007 is the specific code for invalid UTF-8 (RFC 6455 §7.4.1)";
  expect_ok(run_failure({close_frame(close_code::kNormal, kKosmeSurrogateEdited)}, expect));
}

class ConformanceValidCloseCode : public ::testing::TestWithParam<std::uint16_t> {};

// Autobahn 7.7.1-7.7.13; RFC 6455 §7.4.1-2: defined and registrable codes are accepted and echoed.
TEST_P(ConformanceValidCloseCode, IsEchoed) {
  Session session;
  session.close_with(close_frame(GetParam()), deadline_in(kReplyDeadline));
  expect_ok(judge_clean_echo(session.observation(), {}, CloseEcho{GetParam()}));
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceValidCloseCode,
                         ::testing::Values(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                           3000, 3999, 4000, 4999),
                         [](const auto& p) { return "Case7_7_x_Code" + std::to_string(p.param); });

class ConformanceInvalidCloseCode : public ::testing::TestWithParam<std::uint16_t> {};

// Autobahn 7.9.1-7.9.9 and 7.13.1-2; RFC 6455 §7.4: 0-999 are unused, 1004-1006 and 1015 must not
// be sent, 1016-2999 are reserved for the protocol; the course also rejects codes above 4999.
TEST_P(ConformanceInvalidCloseCode, FailsWith1002) {
  const std::uint16_t code = GetParam();
  FailureExpectation expect{close_code::kProtocolError};
  if (code >= 5000) {
    // RFC 6455 §7.4.2 defines no range above 4999, and Autobahn 7.13.x grades any answer
    // INFORMATIONAL; a server that echoes such a code is lenient, not wrong.
    expect.non_strict_codes = {code, close_code::kNormal};
    expect.non_strict_reason =
        "RFC 6455 leaves codes above 4999 undefined (Autobahn 7.13.x is informational); the course "
        "server rejects them";
  }
  expect_ok(run_failure({close_frame(code)}, expect));
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceInvalidCloseCode,
                         ::testing::Values(0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                           5000, 65535),
                         [](const auto& p) {
                           return (p.param >= 5000 ? "Case7_13_x_Code" : "Case7_9_x_Code") +
                                  std::to_string(p.param);
                         });

// ---------------------------------------------------------------------------------------------
// Section 9: large messages (RFC 6455 §5.2 64-bit lengths, §5.4, §10.4 limits)
// ---------------------------------------------------------------------------------------------

struct LargeCase {
  const char* name;
  std::uint8_t opcode;
  std::size_t size;
  std::size_t fragment_size;  // 0: one frame
  std::size_t chunk_size;     // 0: one write
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const LargeCase& c, std::ostream* os) {
  *os << c.name;
}

class ConformanceLargeMessage : public ::testing::TestWithParam<LargeCase> {};

// Autobahn 9.1-9.6; RFC 6455 §5.2, §5.4: up to the 16 MiB limit, echoed byte-exactly.
TEST_P(ConformanceLargeMessage, IsEchoedByteExactly) {
  const LargeCase& c = GetParam();
  const bool text = c.opcode == opcode::kText;
  const std::string payload = text ? utf8_payload(c.size) : binary_payload(c.size);
  const std::vector<FrameSpec> frames =
      c.fragment_size == 0 ? fragment_message(c.opcode, payload, payload.size() + 1)
                           : fragment_message(c.opcode, payload, c.fragment_size);
  expect_ok(run_echo(frames, {text ? text_event(payload) : binary_event(payload)},
                     SendPlan{c.chunk_size, {}}, kLargeMessageDeadline));
}

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = std::size_t{1024} * 1024;

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformanceLargeMessage,
    ::testing::Values(
        LargeCase{"Case9_1_1_Text64KiB", opcode::kText, 64 * kKiB, 0, 0},
        LargeCase{"Case9_1_2_Text256KiB", opcode::kText, 256 * kKiB, 0, 0},
        LargeCase{"Case9_1_3_Text1MiB", opcode::kText, kMiB, 0, 0},
        LargeCase{"Case9_1_4_Text4MiB", opcode::kText, 4 * kMiB, 0, 0},
        LargeCase{"Case9_1_6_Text16MiB", opcode::kText, 16 * kMiB, 0, 0},
        LargeCase{"Case9_2_1_Binary64KiB", opcode::kBinary, 64 * kKiB, 0, 0},
        LargeCase{"Case9_2_2_Binary256KiB", opcode::kBinary, 256 * kKiB, 0, 0},
        LargeCase{"Case9_2_3_Binary1MiB", opcode::kBinary, kMiB, 0, 0},
        LargeCase{"Case9_2_4_Binary4MiB", opcode::kBinary, 4 * kMiB, 0, 0},
        LargeCase{"Case9_2_6_Binary16MiB", opcode::kBinary, 16 * kMiB, 0, 0},
        LargeCase{"Case9_3_x_Text64KiBIn64KiBFragments", opcode::kText, 64 * kKiB, 64 * kKiB, 0},
        LargeCase{"Case9_3_x_Text256KiBIn64KiBFragments", opcode::kText, 256 * kKiB, 64 * kKiB, 0},
        LargeCase{"Case9_3_x_Text1MiBIn64KiBFragments", opcode::kText, kMiB, 64 * kKiB, 0},
        LargeCase{"Case9_3_x_Text4MiBIn64KiBFragments", opcode::kText, 4 * kMiB, 64 * kKiB, 0},
        LargeCase{"Case9_3_x_Text16MiBIn64KiBFragments", opcode::kText, 16 * kMiB, 64 * kKiB, 0},
        LargeCase{"Case9_4_x_Binary64KiBIn64KiBFragments", opcode::kBinary, 64 * kKiB, 64 * kKiB,
                  0},
        LargeCase{"Case9_4_x_Binary256KiBIn64KiBFragments", opcode::kBinary, 256 * kKiB, 64 * kKiB,
                  0},
        LargeCase{"Case9_4_x_Binary1MiBIn64KiBFragments", opcode::kBinary, kMiB, 64 * kKiB, 0},
        LargeCase{"Case9_4_x_Binary4MiBIn64KiBFragments", opcode::kBinary, 4 * kMiB, 64 * kKiB, 0},
        LargeCase{"Case9_4_x_Binary16MiBIn64KiBFragments", opcode::kBinary, 16 * kMiB, 64 * kKiB,
                  0},
        LargeCase{"Case9_5_1_Text1MiBIn64ByteWrites", opcode::kText, kMiB, 0, 64},
        LargeCase{"Case9_5_x_Text1MiBIn512ByteWrites", opcode::kText, kMiB, 0, 512},
        LargeCase{"Case9_5_x_Text1MiBIn4096ByteWrites", opcode::kText, kMiB, 0, 4096},
        LargeCase{"Case9_6_1_Binary1MiBIn64ByteWrites", opcode::kBinary, kMiB, 0, 64},
        LargeCase{"Case9_6_x_Binary1MiBIn512ByteWrites", opcode::kBinary, kMiB, 0, 512},
        LargeCase{"Case9_6_x_Binary1MiBIn4096ByteWrites", opcode::kBinary, kMiB, 0, 4096}),
    [](const auto& p) { return std::string(p.param.name); });

// Autobahn 9.7.x/9.8.x (pipelined); RFC 6455 §5.4: many messages in one burst come back complete
// and in order.
TEST(Conformance, Case9_7_x_EchoesThousandPipelinedMessagesInOrder) {
  std::vector<FrameSpec> frames;
  std::vector<Event> expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string payload =
        "message " + std::to_string(i) + " " + ascii_payload(static_cast<std::size_t>(i % 200));
    if (i % 2 == 0) {
      frames.push_back(text_frame(payload));
      expected.push_back(text_event(payload));
    } else {
      frames.push_back(binary_frame(payload));
      expected.push_back(binary_event(payload));
    }
  }
  expect_ok(run_echo(frames, expected));
}

// ---------------------------------------------------------------------------------------------
// Section 10: the server may fragment its echo differently (RFC 6455 §5.4: intermediaries and
// endpoints may refragment); the harness compares reassembled messages only.
// ---------------------------------------------------------------------------------------------

// Autobahn 10.1.1; RFC 6455 §5.4.
TEST(Conformance, Case10_1_1_EchoesText65536SentIn1300ByteFragments) {
  const std::string payload = utf8_payload(65536);
  expect_ok(run_echo(fragment_message(opcode::kText, payload, 1300), {text_event(payload)}));
}

// Autobahn 10.1.1 (binary variant); RFC 6455 §5.4.
TEST(Conformance, Case10_1_x_EchoesBinary65536SentIn1300ByteFragments) {
  const std::string payload = binary_payload(65536);
  expect_ok(run_echo(fragment_message(opcode::kBinary, payload, 1300), {binary_event(payload)}));
}

// ---------------------------------------------------------------------------------------------
// Opening handshake (RFC 6455 §4.1, §4.2.1, §4.2.2, §4.4)
// ---------------------------------------------------------------------------------------------

// Sends `request` on a fresh connection and returns the response head (nullopt with `error`).
std::optional<HttpResponse> send_upgrade_request(const UpgradeRequest& request, std::string* error,
                                                 std::string* key_out = nullptr) {
  ConformanceClient client =
      ConformanceClient::connect(echo_server_address(), deadline_in(kReplyDeadline));
  const std::string bytes = client.build_request(request, key_out);
  if (!client.send_bytes(bytes, SendPlan{}, deadline_in(kReplyDeadline))) {
    *error = "could not send the request";
    return std::nullopt;
  }
  return client.read_http_response(deadline_in(kReplyDeadline), error);
}

// Grades the answer to an invalid request: `strict` statuses are OK; any other 4xx/5xx is
// NON-STRICT; 101 or no answer is FAILED. With `require_version_header`, RFC 6455 §4.2.2's
// Sec-WebSocket-Version: 13 must be present.
Verdict judge_rejection(const std::optional<HttpResponse>& response, const std::string& error,
                        std::vector<int> strict, bool require_version_header = false) {
  if (!response) {
    return {Behavior::kFailed, "no HTTP response: " + error};
  }
  if (response->status == 101) {
    return {Behavior::kFailed, "accepted an invalid handshake with 101 Switching Protocols"};
  }
  if (require_version_header) {
    const auto versions = response->header("Sec-WebSocket-Version");
    if (!versions || versions->find("13") == std::string::npos) {
      return {Behavior::kFailed,
              "answered " + std::to_string(response->status) +
                  " without Sec-WebSocket-Version: 13 (RFC 6455 §4.2.2 requires the header)"};
    }
  }
  if (std::find(strict.begin(), strict.end(), response->status) != strict.end()) {
    return {};
  }
  if (response->status >= 400 && response->status < 600) {
    return {Behavior::kNonStrict, "answered " + std::to_string(response->status) + " " +
                                      response->reason + "; the course expects " +
                                      std::to_string(strict.front())};
  }
  return {Behavior::kFailed, "answered " + std::to_string(response->status) + " " +
                                 response->reason + " to an invalid upgrade request"};
}

// RFC 6455 §1.3, §4.2.2: the specification's own example key and accept value.
TEST(Conformance, Handshake_AnswersRfcSampleKeyWithRfcAccept) {
  UpgradeRequest request;
  request.key = "dGhlIHNhbXBsZSBub25jZQ==";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  Verdict verdict;
  if (!response) {
    verdict = {Behavior::kFailed, "no HTTP response: " + error};
  } else if (response->status != 101) {
    verdict = {Behavior::kFailed, "answered " + std::to_string(response->status)};
  } else if (response->header("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
    verdict = {Behavior::kFailed, "Sec-WebSocket-Accept is '" +
                                      response->header("Sec-WebSocket-Accept").value_or("") +
                                      "', RFC 6455 §1.3 gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo="};
  }
  expect_ok(verdict);
}

// RFC 6455 §4.2.1 items 3-4 with RFC 7230 §3.2, §6.7: header names and the tokens websocket /
// Upgrade are case-insensitive, and Connection is a comma-separated list.
TEST(Conformance, Handshake_AcceptsCaseInsensitiveTokensInLists) {
  UpgradeRequest request;
  request.upgrade = "WebSocket";
  request.connection = "keep-alive, UPGRADE";
  std::string error;
  std::string key;
  const auto response = send_upgrade_request(request, &error, &key);
  Verdict verdict;
  if (!response) {
    verdict = {Behavior::kFailed, "no HTTP response: " + error};
  } else if (response->status != 101) {
    verdict = {Behavior::kFailed, "answered " + std::to_string(response->status) + " " +
                                      response->reason + " to a valid request"};
  } else if (response->header("Sec-WebSocket-Accept") != websocket_accept_for(key)) {
    verdict = {Behavior::kFailed, "wrong Sec-WebSocket-Accept"};
  }
  expect_ok(verdict);
}

// RFC 6455 §4.2.1 item 5: the key is required; without it the server answers 400.
TEST(Conformance, Handshake_RejectsMissingKeyWith400) {
  UpgradeRequest request;
  request.send_key = false;
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  expect_ok(judge_rejection(response, error, {400}));
}

// RFC 6455 §4.2.2 and §4.4: an unsupported version is answered with an error (426 Upgrade
// Required is the suggested one) and Sec-WebSocket-Version listing 13.
TEST(Conformance, Handshake_RejectsVersion8With426AndVersionHeader) {
  UpgradeRequest request;
  request.version = "8";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  expect_ok(judge_rejection(response, error, {426}, /*require_version_header=*/true));
}

// RFC 6455 §4.1 item 2, §4.2.1 item 1: the method MUST be GET (400 or 405 are both appropriate).
TEST(Conformance, Handshake_RejectsPostWith400) {
  UpgradeRequest request;
  request.method = "POST";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  expect_ok(judge_rejection(response, error, {400, 405}));
}

// RFC 6455 §4.1 item 2, §4.2.1 item 1: HTTP/1.1 or higher is required (400 or 505).
TEST(Conformance, Handshake_RejectsHttp10With400) {
  UpgradeRequest request;
  request.http_version = "HTTP/1.0";
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  expect_ok(judge_rejection(response, error, {400, 505}));
}

struct KeyCase {
  const char* name;
  const char* key;
};
// GoogleTest finds the printer of a test parameter by this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const KeyCase& c, std::ostream* os) {
  *os << c.name;
}

class ConformanceBadKey : public ::testing::TestWithParam<KeyCase> {};

// RFC 6455 §4.1 item 7, §4.2.1 item 5: the key is base64 of exactly 16 bytes; anything else is a
// bad request.
TEST_P(ConformanceBadKey, IsRejectedWith400) {
  UpgradeRequest request;
  request.key = GetParam().key;
  std::string error;
  const auto response = send_upgrade_request(request, &error);
  expect_ok(judge_rejection(response, error, {400}));
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, ConformanceBadKey,
    ::testing::Values(KeyCase{"Handshake_KeyOf15Bytes", "AAAAAAAAAAAAAAAAAAAA"},
                      KeyCase{"Handshake_KeyOf17Bytes", "AAAAAAAAAAAAAAAAAAAAAAA="},
                      KeyCase{"Handshake_KeyNotBase64", "!!!!!!!!!!!!!!!!!!!!!!=="},
                      KeyCase{"Handshake_KeyOf32Bytes",
                              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}),
    [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------------------------
// Robustness (RFC 6455 §5.1, §5.2, §10.4)
// ---------------------------------------------------------------------------------------------

// RFC 6455 §5.2, §10.4: a frame announcing 2^63 - 1 bytes must be refused from its header, before
// any payload arrives (the test never sends more than 3 bytes of it).
TEST(Conformance, Robustness_FailsPromptlyWith1009OnDeclaredLength2Pow63Minus1) {
  FrameSpec frame = binary_frame("abc");
  frame.declared_length = (std::uint64_t{1} << 63) - 1;
  expect_ok(run_failure({frame}, {close_code::kMessageTooBig}));
}

// RFC 6455 §5.2: "the most significant bit MUST be 0" in a 64-bit length.
TEST(Conformance, Robustness_FailsWith1002On64BitLengthWithTopBitSet) {
  FrameSpec frame = binary_frame("abc");
  frame.declared_length = (std::uint64_t{1} << 63) | 5U;
  FailureExpectation expect{close_code::kProtocolError};
  expect.non_strict_codes = {close_code::kMessageTooBig};
  expect.non_strict_reason =
      "the length is also above the size limit, but a set top bit makes the frame malformed "
      "(RFC 6455 §5.2) whatever the limit";
  expect_ok(run_failure({frame}, expect));
}

// RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame (1002).
TEST(Conformance, Robustness_FailsWith1002OnUnmaskedClientFrame) {
  FrameSpec frame = text_frame("Hello, world!");
  frame.masked = false;
  expect_ok(run_failure({frame}, {close_code::kProtocolError}));
}

// RFC 6455 §10.4, §7.4.1: the limit (16 MiB) applies to the reassembled message, so the byte
// that crosses it in the last fragment fails the connection with 1009 and nothing is echoed.
TEST(Conformance, Robustness_FailsWith1009OnFragmentedMessageOneByteOverLimit) {
  const std::string payload = binary_payload(kMaxMessageSize + 1);
  Session session;
  session.send(fragment_message(opcode::kBinary, payload, kMiB));
  session.await_close(deadline_in(kLargeMessageDeadline));
  expect_ok(judge_failure(session.observation(), {close_code::kMessageTooBig}));
}

// RFC 6455 §10.4: a single frame announcing 16 MiB + 1 bytes can be refused from its header; a
// server that reads the whole payload first is NON-STRICT.
TEST(Conformance, Robustness_FailsFastWith1009OnFrameOneByteOverLimit) {
  const std::string frame = encode_frame(binary_frame(binary_payload(kMaxMessageSize + 1)));
  const std::size_t header = masked_header_size(kMaxMessageSize + 1);
  Session session;
  session.send_raw(std::string_view(frame).substr(0, header));
  session.await_close(deadline_in(kFailFastWindow));
  if (session.closed()) {
    expect_ok(judge_failure(session.observation(), {close_code::kMessageTooBig}));
    return;
  }
  session.send_raw(std::string_view(frame).substr(header));
  session.await_close(deadline_in(kLargeMessageDeadline));
  Verdict late = judge_failure(session.observation(), {close_code::kMessageTooBig});
  expect_ok(worst({Behavior::kNonStrict,
                   "did not refuse the frame from its header; failed only after receiving it"},
                  late));
}

// A crashed or impatient client must not take the server down: the next client is served.
Verdict next_client_is_served() {
  return run_echo({text_frame("still serving")}, {text_event("still serving")});
}

// RFC 6455 §7.1.5-7.1.7 (abnormal closure, 1006 on the server side): client sends FIN mid-frame.
TEST(Conformance, Robustness_ServesNextClientAfterDisconnectMidFrame) {
  {
    Session session;
    const std::string frame = encode_frame(text_frame(ascii_payload(1000)));
    session.send_raw(std::string_view(frame).substr(0, 500));
    session.client().shutdown_write();
  }
  expect_ok(next_client_is_served());
}

// RFC 6455 §7.1.7: client resets the connection mid-frame.
TEST(Conformance, Robustness_ServesNextClientAfterResetMidFrame) {
  {
    Session session;
    const std::string frame = encode_frame(binary_frame(binary_payload(70000)));
    session.send_raw(std::string_view(frame).substr(0, 3000));
    session.client().reset();
  }
  expect_ok(next_client_is_served());
}

// RFC 6455 §4.2.1: a client that vanishes during the opening handshake.
TEST(Conformance, Robustness_ServesNextClientAfterDisconnectMidHandshake) {
  {
    ConformanceClient client =
        ConformanceClient::connect(echo_server_address(), deadline_in(kReplyDeadline));
    const std::string request = client.build_request(UpgradeRequest{}, nullptr);
    client.send_bytes(std::string_view(request).substr(0, request.size() / 2), SendPlan{},
                      deadline_in(kReplyDeadline));
  }
  expect_ok(next_client_is_served());
}

// A client stalled in the middle of a frame must not block other clients.
TEST(Conformance, Robustness_ServesSecondClientWhileFirstStallsMidFrame) {
  Session stalled;
  const std::string frame = encode_frame(text_frame(ascii_payload(1000)));
  stalled.send_raw(std::string_view(frame).substr(0, 10));
  expect_ok(next_client_is_served());
}

// ---------------------------------------------------------------------------------------------
// Self-checks of the test client (no server needed)
// ---------------------------------------------------------------------------------------------

// RFC 6455 §5.7: the specification's masked "Hello" example, byte for byte.
TEST(ConformanceClient, EncodesRfcMaskedHelloExample) {
  FrameSpec frame = text_frame("Hello");
  frame.masking_key = {0x37, 0xfa, 0x21, 0x3d};
  EXPECT_EQ(encode_frame(frame), from_hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
}

// RFC 6455 §5.7: unmasked examples, including a fragmented message and a 256-byte binary frame.
TEST(ConformanceClient, EncodesRfcUnmaskedExamples) {
  FrameSpec hello = text_frame("Hello");
  hello.masked = false;
  EXPECT_EQ(encode_frame(hello), from_hex("81 05 48 65 6c 6c 6f"));
  FrameSpec first = text_frame("Hel", false);
  first.masked = false;
  EXPECT_EQ(encode_frame(first), from_hex("01 03 48 65 6c"));
  FrameSpec big = binary_frame(std::string(256, 'x'));
  big.masked = false;
  EXPECT_EQ(encode_frame(big).substr(0, 4), from_hex("82 7e 01 00"));
  big.payload = std::string(65536, 'x');
  EXPECT_EQ(encode_frame(big).substr(0, 10), from_hex("82 7f 00 00 00 00 00 01 00 00"));
}

// RFC 6455 §1.3: the sample key's accept value.
TEST(ConformanceClient, ComputesRfcSampleAccept) {
  EXPECT_EQ(websocket_accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// RFC 3629: the harness's own UTF-8 check agrees with the table above.
TEST(ConformanceClient, Utf8CheckAgreesWithCaseTable) {
  for (const Utf8Case& c : utf8_cases()) {
    EXPECT_EQ(is_valid_utf8(c.bytes), c.valid) << c.name;
  }
  EXPECT_TRUE(is_valid_utf8(utf8_payload(100000)));
}

}  // namespace
}  // namespace ws_test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): main, before any thread starts
  if (std::getenv("WS_ECHO_ADDR") == nullptr && !GTEST_FLAG_GET(list_tests)) {
    std::fprintf(stderr,
                 "conformance_tests: WS_ECHO_ADDR is not set; every Conformance case will fail "
                 "(set WS_ECHO_ADDR=127.0.0.1:PORT of a running echo server)\n");
  }
  ws_test::install_summary_listener();
  return RUN_ALL_TESTS();
}

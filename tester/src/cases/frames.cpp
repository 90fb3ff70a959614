// Cases for the frame codec: payload lengths, pings and pongs, reserved bits and opcodes
// (RFC 6455 §5.2, §5.5.2-5.5.3), modelled on sections 1-4 and 10 of Autobahn|Testsuite.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {
// ---------------------------------------------------------------------------------------------
// Section 1: framing of text and binary messages (RFC 6455 §5.2, §5.6)
// ---------------------------------------------------------------------------------------------

struct LengthCase {
  const char* name;
  std::uint8_t opcode;
  std::size_t length;
};
// Autobahn 1.1.1-1.1.7 (text) and 1.2.1-1.2.7 (binary); RFC 6455 §5.2 7/16/64-bit lengths: a
// message of each length at the edges of the three encodings is echoed unchanged.
const bool kPayloadLengths = add_family(
    "payloads", "§5.2",
    std::vector<LengthCase>{LengthCase{"Case1_1_1_Text0", opcode::kText, 0},
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
                            LengthCase{"Case1_2_7_Binary65536", opcode::kBinary, 65536}},
    [](const LengthCase& c) { return std::string(c.name) + "IsEchoedUnchanged"; },
    [](const LengthCase& c) {
      const bool text = c.opcode == opcode::kText;
      const std::string payload = text ? ascii_payload(c.length) : binary_payload(c.length);
      const FrameSpec frame = text ? text_frame(payload) : binary_frame(payload);
      report(run_echo({frame}, {text ? text_event(payload) : binary_event(payload)}));
    });

// Autobahn 1.1.8; RFC 6455 §5.2: a frame may arrive in any number of TCP segments.
TESTER_CASE(payloads, Case1_1_8_EchoesText65536SentIn997ByteChunks, "§5.2") {
  const std::string payload = ascii_payload(65536);
  report(run_echo({text_frame(payload)}, {text_event(payload)}, SendPlan{997, {}}));
}

// Autobahn 1.2.8; RFC 6455 §5.2.
TESTER_CASE(payloads, Case1_2_8_EchoesBinary65536SentIn997ByteChunks, "§5.2") {
  const std::string payload = binary_payload(65536);
  report(run_echo({binary_frame(payload)}, {binary_event(payload)}, SendPlan{997, {}}));
}

// Autobahn 1.x (byte-wise variant); RFC 6455 §5.2: the 16-bit length may arrive a byte at a time.
TESTER_CASE(payloads, Case1_1_x_EchoesText128SentByteByByte, "§5.2") {
  const std::string payload = ascii_payload(128);
  report(run_echo({text_frame(payload)}, {text_event(payload)}, kByteByByte));
}

// Autobahn 1.x (byte-wise variant); RFC 6455 §5.2.
TESTER_CASE(payloads, Case1_2_x_EchoesBinary128SentByteByByte, "§5.2") {
  const std::string payload = binary_payload(128);
  report(run_echo({binary_frame(payload)}, {binary_event(payload)}, kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 2: ping and pong (RFC 6455 §5.5.2, §5.5.3)
// ---------------------------------------------------------------------------------------------

// Autobahn 2.1; RFC 6455 §5.5.3: a pong carries the ping's application data.
TESTER_CASE(pings, Case2_1_AnswersEmptyPingWithEmptyPong, "§5.5.3") {
  report(run_echo({ping_frame()}, {pong_event("")}));
}

// Autobahn 2.2; RFC 6455 §5.5.2-3.
TESTER_CASE(pings, Case2_2_AnswersPingWithTextPayload, "§5.5.2-3") {
  report(run_echo({ping_frame("Hello, world!")}, {pong_event("Hello, world!")}));
}

// Autobahn 2.3; RFC 6455 §5.5.2-3: ping data is arbitrary bytes, not text.
TESTER_CASE(pings, Case2_3_AnswersPingWithBinaryPayload, "§5.5.2-3") {
  const std::string payload = from_hex("00 ff fe fd fc fb 00 ff");
  report(run_echo({ping_frame(payload)}, {pong_event(payload)}));
}

// Autobahn 2.4; RFC 6455 §5.5: 125 bytes is the largest control payload.
TESTER_CASE(pings, Case2_4_AnswersPingWith125BytePayload, "§5.5") {
  const std::string payload = binary_payload(125);
  report(run_echo({ping_frame(payload)}, {pong_event(payload)}));
}

// Autobahn 2.5; RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less.
TESTER_CASE(pings, Case2_5_FailsOnPingWith126BytePayloadWith1002, "§5.5") {
  report(run_failure({ping_frame(binary_payload(126))}, {close_code::kProtocolError}));
}

// Autobahn 2.6; RFC 6455 §5.5.2.
TESTER_CASE(pings, Case2_6_AnswersPing125SentByteByByte, "§5.5.2") {
  const std::string payload = binary_payload(125);
  report(run_echo({ping_frame(payload)}, {pong_event(payload)}, kByteByByte));
}

// Autobahn 2.7; RFC 6455 §5.5.3: an unsolicited pong expects no response.
TESTER_CASE(pings, Case2_7_IgnoresUnsolicitedEmptyPong, "§5.5.3") {
  report(run_echo({pong_frame()}, {}));
}

// Autobahn 2.8; RFC 6455 §5.5.3.
TESTER_CASE(pings, Case2_8_IgnoresUnsolicitedPongWithPayload, "§5.5.3") {
  report(run_echo({pong_frame("unsolicited pong payload")}, {}));
}

// Autobahn 2.9; RFC 6455 §5.5.3: the pong answers the ping, not the earlier pong.
TESTER_CASE(pings, Case2_9_AnswersPingAfterUnsolicitedPong, "§5.5.3") {
  report(run_echo({pong_frame("unsolicited pong payload"), ping_frame("ping payload")},
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
TESTER_CASE(pings, Case2_10_AnswersTenPingsInOrder, "§5.5.2") {
  report(run_echo(ten_pings(), ten_pongs()));
}

// Autobahn 2.11; RFC 6455 §5.5.2.
TESTER_CASE(pings, Case2_11_AnswersTenPingsSentByteByByteInOrder, "§5.5.2") {
  report(run_echo(ten_pings(), ten_pongs(), kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 3: reserved bits (RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them)
// ---------------------------------------------------------------------------------------------

FrameSpec with_rsv(FrameSpec frame, std::uint8_t bits) {
  frame.rsv = bits;
  return frame;
}

// Autobahn 3.1; RFC 6455 §5.2. "RSV = n" is the 3-bit field, RSV1 its high bit (rsv::kRsv1).
TESTER_CASE(rsv, Case3_1_FailsOnTextWithRsvEquals1With1002, "§5.2") {
  report(run_failure({with_rsv(text_frame("Hello, world!"), 1)}, {close_code::kProtocolError}));
}

// Autobahn 3.2; RFC 6455 §5.2: the valid message before the bad frame is still echoed.
TESTER_CASE(rsv, Case3_2_FailsOnTextWithRsvEquals2AfterValidEchoWith1002, "§5.2") {
  report(run_failure(
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 2), ping_frame()},
      {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

// Autobahn 3.3; RFC 6455 §5.2.
TESTER_CASE(rsv, Case3_3_FailsOnTextWithRsvEquals3SentFrameByFrameWith1002, "§5.2") {
  Session session;
  send_frame_by_frame(
      session,
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 3), ping_frame()},
      std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_failure(session.observation(),
                       {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

// Autobahn 3.4; RFC 6455 §5.2.
TESTER_CASE(rsv, Case3_4_FailsOnTextWithRsvEquals4SentByteByByteWith1002, "§5.2") {
  report(run_failure(
      {text_frame("Hello, world!"), with_rsv(text_frame("Hello, world!"), 4), ping_frame()},
      {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// Autobahn 3.5; RFC 6455 §5.2.
TESTER_CASE(rsv, Case3_5_FailsOnBinaryWithRsvEquals5With1002, "§5.2") {
  report(run_failure({with_rsv(binary_frame(binary_payload(8)), 5)}, {close_code::kProtocolError}));
}

// Autobahn 3.6; RFC 6455 §5.2: the rule holds for control frames too.
TESTER_CASE(rsv, Case3_6_FailsOnPingWithRsvEquals6With1002, "§5.2") {
  report(run_failure({with_rsv(ping_frame("Hello, world!"), 6)}, {close_code::kProtocolError}));
}

// Autobahn 3.7; RFC 6455 §5.2: a close frame with RSV bits is a violation, not a close.
TESTER_CASE(rsv, Case3_7_FailsOnCloseWithRsvEquals7With1002, "§5.2") {
  report(
      run_failure({with_rsv(close_frame(close_code::kNormal), 7)}, {close_code::kProtocolError}));
}

struct RsvCase {
  const char* name;
  std::uint8_t opcode;
  std::uint8_t bits;
};
// Autobahn 3.x generalised: each RSV bit on each kind of frame, after a valid echo; RFC 6455 §5.2.
void fail_on_rsv_after_echo(const RsvCase& c) {
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
  report(run_failure({text_frame("valid first"), with_rsv(bad, c.bits)},
                     {close_code::kProtocolError, {text_event("valid first")}}));
}

const bool kRsvAfterEcho = add_family(
    "rsv", "§5.2",
    std::vector<RsvCase>{RsvCase{"TextRsv1", opcode::kText, rsv::kRsv1},
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
                         RsvCase{"CloseRsv3", opcode::kClose, rsv::kRsv3}},
    [](const RsvCase& c) { return "Rsv_" + std::string(c.name) + "AfterEchoFailsWith1002"; },
    fail_on_rsv_after_echo);

// ---------------------------------------------------------------------------------------------
// Section 4: reserved opcodes (RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved; an endpoint
// receiving an unknown opcode MUST fail the connection)
// ---------------------------------------------------------------------------------------------

struct OpcodeCase {
  std::uint8_t opcode;
  bool with_payload;
};
// Autobahn 4.1.1-4.1.4 and 4.2.1-4.2.4 generalised to every reserved opcode; RFC 6455 §5.2.
// Without payload the frame comes alone; with payload it follows a valid echo and precedes a
// ping that must not be answered.
void fail_on_reserved_opcode(const OpcodeCase& c) {
  FrameSpec reserved = text_frame(c.with_payload ? "reserved opcode payload" : "");
  reserved.opcode = c.opcode;
  if (!c.with_payload) {
    report(run_failure({reserved}, {close_code::kProtocolError}));
    return;
  }
  report(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                     {close_code::kProtocolError, {text_event("Hello, world!")}}));
}

std::vector<OpcodeCase> reserved_opcodes() {
  std::vector<OpcodeCase> cases;
  for (const int op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    cases.push_back({static_cast<std::uint8_t>(op), false});
    cases.push_back({static_cast<std::uint8_t>(op), true});
  }
  return cases;
}

const bool kReservedOpcodes = add_family(
    "opcodes", "§5.2", reserved_opcodes(),
    [](const OpcodeCase& c) {
      return "Opcodes_Opcode" + std::to_string(c.opcode) +
             (c.with_payload ? "WithPayloadAfterEcho" : "Empty") + "FailsWith1002";
    },
    fail_on_reserved_opcode);

// Autobahn 4.1.5; RFC 6455 §5.2: detection must not depend on how the bytes arrive.
TESTER_CASE(opcodes, Case4_1_5_FailsOnOpcode7SentByteByByteWith1002, "§5.2") {
  FrameSpec reserved = text_frame("reserved opcode payload");
  reserved.opcode = 7;
  report(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                     {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// Autobahn 4.2.5; RFC 6455 §5.2.
TESTER_CASE(opcodes, Case4_2_5_FailsOnOpcode15SentByteByByteWith1002, "§5.2") {
  FrameSpec reserved = text_frame("reserved opcode payload");
  reserved.opcode = 15;
  report(run_failure({text_frame("Hello, world!"), reserved, ping_frame()},
                     {close_code::kProtocolError, {text_event("Hello, world!")}}, kByteByByte));
}

// ---------------------------------------------------------------------------------------------
// Section 10: the server may fragment its echo differently (RFC 6455 §5.4: intermediaries and
// endpoints may refragment); the harness compares reassembled messages only.
// ---------------------------------------------------------------------------------------------

// Autobahn 10.1.1; RFC 6455 §5.4.
TESTER_CASE(payloads, Case10_1_1_EchoesText65536SentIn1300ByteFragments, "§5.4") {
  const std::string payload = utf8_payload(65536);
  report(run_echo(fragment_message(opcode::kText, payload, 1300), {text_event(payload)}));
}

// Autobahn 10.1.1 (binary variant); RFC 6455 §5.4.
TESTER_CASE(payloads, Case10_1_x_EchoesBinary65536SentIn1300ByteFragments, "§5.4") {
  const std::string payload = binary_payload(65536);
  report(run_echo(fragment_message(opcode::kBinary, payload, 1300), {binary_event(payload)}));
}

}  // namespace
}  // namespace tester

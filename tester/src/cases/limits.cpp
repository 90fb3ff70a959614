// Cases for large messages, the size limit and hostile or vanishing clients (RFC 6455 §5.1,
// §5.2, §7.1.7, §10.4), modelled on section 9 of Autobahn|Testsuite.
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
// Section 9: large messages (RFC 6455 §5.2 64-bit lengths, §5.4, §10.4 limits)
// ---------------------------------------------------------------------------------------------

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = std::size_t{1024} * 1024;

struct LargeCase {
  const char* name;
  std::uint8_t opcode;
  std::size_t size;
  std::size_t fragment_size;  // 0: one frame
  std::size_t chunk_size;     // 0: one write
};
// Autobahn 9.1-9.6; RFC 6455 §5.2, §5.4: up to the 16 MiB limit, echoed byte-exactly.
void echo_large_message(const LargeCase& c) {
  const bool text = c.opcode == opcode::kText;
  const std::string payload = text ? utf8_payload(c.size) : binary_payload(c.size);
  const std::vector<FrameSpec> frames =
      c.fragment_size == 0 ? fragment_message(c.opcode, payload, payload.size() + 1)
                           : fragment_message(c.opcode, payload, c.fragment_size);
  report(run_echo(frames, {text ? text_event(payload) : binary_event(payload)},
                  SendPlan{c.chunk_size, {}}, kLargeMessageDeadline));
}

const bool kLargeMessages = add_family(
    "limits", "§5.2, §5.4",
    std::vector<LargeCase>{
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
        LargeCase{"Case9_6_x_Binary1MiBIn4096ByteWrites", opcode::kBinary, kMiB, 0, 4096}},
    [](const LargeCase& c) { return std::string(c.name) + "IsEchoedByteExactly"; },
    echo_large_message);

// Autobahn 9.7.x/9.8.x (pipelined); RFC 6455 §5.4: many messages in one burst come back complete
// and in order.
TESTER_CASE(limits, Case9_7_x_EchoesThousandPipelinedMessagesInOrder, "§5.4") {
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
  report(run_echo(frames, expected));
}

// ---------------------------------------------------------------------------------------------
// Robustness (RFC 6455 §5.1, §5.2, §10.4)
// ---------------------------------------------------------------------------------------------

// RFC 6455 §5.2, §10.4: a frame announcing 2^63 - 1 bytes must be refused from its header, before
// any payload arrives (the test never sends more than 3 bytes of it).
TESTER_CASE(robustness, Robustness_FailsPromptlyWith1009OnDeclaredLength2Pow63Minus1, "§5.2") {
  FrameSpec frame = binary_frame("abc");
  frame.declared_length = (std::uint64_t{1} << 63) - 1;
  report(run_failure({frame}, {close_code::kMessageTooBig}));
}

// RFC 6455 §5.2: "the most significant bit MUST be 0" in a 64-bit length.
TESTER_CASE(robustness, Robustness_FailsWith1002On64BitLengthWithTopBitSet, "§5.2") {
  FrameSpec frame = binary_frame("abc");
  frame.declared_length = (std::uint64_t{1} << 63) | 5U;
  FailureExpectation expect{close_code::kProtocolError};
  expect.non_strict_codes = {close_code::kMessageTooBig};
  expect.non_strict_reason =
      "the length is also above the size limit, but a set top bit makes the frame malformed "
      "(RFC 6455 §5.2) whatever the limit";
  report(run_failure({frame}, expect));
}

// RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame (1002).
TESTER_CASE(robustness, Robustness_FailsWith1002OnUnmaskedClientFrame, "§5.1") {
  FrameSpec frame = text_frame("Hello, world!");
  frame.masked = false;
  report(run_failure({frame}, {close_code::kProtocolError}));
}

// RFC 6455 §10.4, §7.4.1: the limit (16 MiB) applies to the reassembled message, so the byte
// that crosses it in the last fragment fails the connection with 1009 and nothing is echoed.
TESTER_CASE(robustness, Robustness_FailsWith1009OnFragmentedMessageOneByteOverLimit, "§10.4") {
  const std::string payload = binary_payload(target().max_message + 1);
  Session session;
  session.send(fragment_message(opcode::kBinary, payload, kMiB));
  session.await_close(deadline_in(kLargeMessageDeadline));
  report(judge_failure(session.observation(), {close_code::kMessageTooBig}));
}

// RFC 6455 §10.4: a single frame announcing 16 MiB + 1 bytes can be refused from its header; a
// server that reads the whole payload first is NON-STRICT.
TESTER_CASE(robustness, Robustness_FailsFastWith1009OnFrameOneByteOverLimit, "§10.4") {
  const std::string frame = encode_frame(binary_frame(binary_payload(target().max_message + 1)));
  const std::size_t header = masked_header_size(target().max_message + 1);
  Session session;
  session.send_raw(std::string_view(frame).substr(0, header));
  session.await_close(deadline_in(kFailFastWindow));
  if (session.closed()) {
    report(judge_failure(session.observation(), {close_code::kMessageTooBig}));
    return;
  }
  session.send_raw(std::string_view(frame).substr(header));
  session.await_close(deadline_in(kLargeMessageDeadline));
  Verdict late = judge_failure(session.observation(), {close_code::kMessageTooBig});
  report(worst({Behavior::kNonStrict,
                "did not refuse the frame from its header; failed only after receiving it"},
               late));
}

// A crashed or impatient client must not take the server down: the next client is served.
Verdict next_client_is_served() {
  return run_echo({text_frame("still serving")}, {text_event("still serving")});
}

// RFC 6455 §7.1.5-7.1.7 (abnormal closure, 1006 on the server side): client sends FIN mid-frame.
TESTER_CASE(robustness, Robustness_ServesNextClientAfterDisconnectMidFrame, "§7.1.5-7.1.7") {
  {
    Session session;
    const std::string frame = encode_frame(text_frame(ascii_payload(1000)));
    session.send_raw(std::string_view(frame).substr(0, 500));
    session.client().shutdown_write();
  }
  report(next_client_is_served());
}

// RFC 6455 §7.1.7: client resets the connection mid-frame.
TESTER_CASE(robustness, Robustness_ServesNextClientAfterResetMidFrame, "§7.1.7") {
  {
    Session session;
    const std::string frame = encode_frame(binary_frame(binary_payload(70000)));
    session.send_raw(std::string_view(frame).substr(0, 3000));
    session.client().reset();
  }
  report(next_client_is_served());
}

// RFC 6455 §4.2.1: a client that vanishes during the opening handshake.
TESTER_CASE(robustness, Robustness_ServesNextClientAfterDisconnectMidHandshake, "§4.2.1") {
  {
    WireClient client = WireClient::connect(target().address, deadline_in(kReplyDeadline));
    const std::string request = client.build_request(UpgradeRequest{}, nullptr);
    client.send_bytes(std::string_view(request).substr(0, request.size() / 2), SendPlan{},
                      deadline_in(kReplyDeadline));
  }
  report(next_client_is_served());
}

// A client stalled in the middle of a frame must not block other clients.
TESTER_CASE(robustness, Robustness_ServesSecondClientWhileFirstStallsMidFrame, "") {
  Session stalled;
  const std::string frame = encode_frame(text_frame(ascii_payload(1000)));
  stalled.send_raw(std::string_view(frame).substr(0, 10));
  report(next_client_is_served());
}

}  // namespace
}  // namespace tester

// Cases for the closing handshake (RFC 6455 §5.5.1, §7), modelled on section 7 of
// Autobahn|Testsuite.
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
// Section 7: the closing handshake (RFC 6455 §5.5.1, §7)
// ---------------------------------------------------------------------------------------------

// Autobahn 7.1.1; RFC 6455 §7.1.2: a message, then a clean close.
TESTER_CASE(close_echo, Case7_1_1_EchoesTextThenClosesCleanly, "§7.1.2") {
  report(run_echo({text_frame("Hello World!")}, {text_event("Hello World!")}));
}

// Autobahn 7.1.2; RFC 6455 §5.5.1: the server answers the first close only.
TESTER_CASE(close, Case7_1_2_AnswersOnlyTheFirstOfTwoCloses, "§5.5.1") {
  Session session(kIgnoreMessages);
  session.send({close_frame(close_code::kNormal), close_frame(close_code::kNormal)});
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.3; RFC 6455 §5.5.1: after a close, the peer's further frames are not processed.
TESTER_CASE(close, Case7_1_3_IgnoresPingAfterClose, "§5.5.1") {
  Session session(kIgnoreMessages);
  session.send({close_frame(close_code::kNormal), ping_frame("out of band ping")});
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.4; RFC 6455 §5.5.1.
TESTER_CASE(close_echo, Case7_1_4_IgnoresTextAfterClose, "§5.5.1") {
  Session session;
  session.send({close_frame(close_code::kNormal), text_frame("out of band text")});
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.1.5; RFC 6455 §5.4, §5.5.1: a close may interrupt a fragmented message; the
// unfinished message is dropped and the close is answered.
TESTER_CASE(close_echo, Case7_1_5_ClosesCleanlyAfterFragmentOfUnfinishedMessage, "§5.4") {
  Session session(kIgnoreMessages);
  session.send({text_frame("fragment1", false), close_frame(close_code::kNormal),
                continuation_frame("fragment2")});
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.1; RFC 6455 §5.5.1, §7.1.5: a close without a body; the answer is either empty
// or 1000.
TESTER_CASE(close, Case7_3_1_AnswersEmptyCloseWithEmptyOr1000, "§5.5.1") {
  Session session(kIgnoreMessages);
  session.close_with(empty_close_frame(), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}, CloseEcho{std::nullopt}));
}

// Autobahn 7.3.2; RFC 6455 §5.5.1: a body, if present, starts with a 2-byte code.
TESTER_CASE(close, Case7_3_2_FailsOnCloseWithOneBytePayloadWith1002, "§5.5.1") {
  FrameSpec close = empty_close_frame();
  close.payload = "a";
  report(run_failure({close}, {close_code::kProtocolError}, {}, kIgnoreMessages));
}

// Autobahn 7.3.3; RFC 6455 §5.5.1.
TESTER_CASE(close, Case7_3_3_EchoesCloseWithCodeOnly, "§5.5.1") {
  Session session(kIgnoreMessages);
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.4; RFC 6455 §5.5.1: code plus UTF-8 reason.
TESTER_CASE(close, Case7_3_4_EchoesCloseWithCodeAndReason, "§5.5.1") {
  Session session(kIgnoreMessages);
  session.close_with(close_frame(close_code::kNormal, "Hello World!"), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.5; RFC 6455 §5.5: 2 + 123 = 125 bytes, the largest legal close body.
TESTER_CASE(close, Case7_3_5_EchoesCloseWith123ByteReason, "§5.5") {
  Session session(kIgnoreMessages);
  session.close_with(close_frame(close_code::kNormal, std::string(123, '*')),
                     deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// Autobahn 7.3.6; RFC 6455 §5.5: 2 + 124 = 126 bytes is too long for a control frame.
TESTER_CASE(close, Case7_3_6_FailsOnCloseWith124ByteReasonWith1002, "§5.5") {
  report(run_failure({close_frame(close_code::kNormal, std::string(124, '*'))},
                     {close_code::kProtocolError}, {}, kIgnoreMessages));
}

// Autobahn 7.5.1; RFC 6455 §5.5.1, §8.1: the close reason is UTF-8 and is validated.
TESTER_CASE(close, Case7_5_1_FailsOnCloseReasonWithInvalidUtf8With1007, "§5.5.1") {
  FailureExpectation expect{close_code::kInvalidPayload};
  // RFC 6455 §7.4.1 defines 1007 for non-UTF-8 data "within a message"; a close reason is not a
  // message, so 1002 is a defensible reading (Autobahn 7.5.1 accepts both).
  expect.non_strict_codes = {close_code::kProtocolError};
  expect.non_strict_reason = "1007 is the specific code for invalid UTF-8 (RFC 6455 §7.4.1)";
  report(run_failure({close_frame(close_code::kNormal, kKosmeSurrogateEdited)}, expect, {},
                     kIgnoreMessages));
}

// Autobahn 7.7.1-7.7.13; RFC 6455 §7.4.1-2: defined and registrable codes are accepted and echoed.
const bool kValidCodes = add_family(
    "close", "§7.4.1-7.4.2",
    std::vector<std::uint16_t>{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
                               4000, 4999},
    [](std::uint16_t code) { return "Case7_7_x_Code" + std::to_string(code) + "IsEchoed"; },
    [](std::uint16_t code) {
      Session session(kIgnoreMessages);
      session.close_with(close_frame(code), deadline_in(kReplyDeadline));
      report(judge_clean_echo(session.observation(), {}, CloseEcho{code}));
    });

// Autobahn 7.9.1-7.9.9 and 7.13.1-2; RFC 6455 §7.4: 0-999 are unused, 1004-1006 and 1015 must not
// be sent, 1016-2999 are reserved for the protocol; the course also rejects codes above 4999.
void fail_on_invalid_close_code(std::uint16_t code) {
  FailureExpectation expect{close_code::kProtocolError};
  if (code >= 5000) {
    // RFC 6455 §7.4.2 defines no range above 4999, and Autobahn 7.13.x grades any answer
    // INFORMATIONAL; a server that echoes such a code is lenient, not wrong.
    expect.non_strict_codes = {code, close_code::kNormal};
    expect.non_strict_reason =
        "RFC 6455 leaves codes above 4999 undefined (Autobahn 7.13.x is informational); the course "
        "server rejects them";
  }
  report(run_failure({close_frame(code)}, expect, {}, kIgnoreMessages));
}

const bool kInvalidCodes = add_family(
    "close", "§7.4",
    std::vector<std::uint16_t>{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535},
    [](std::uint16_t code) {
      return (code >= 5000 ? "Case7_13_x_Code" : "Case7_9_x_Code") + std::to_string(code) +
             "FailsWith1002";
    },
    fail_on_invalid_close_code);

}  // namespace
}  // namespace tester

// Cases for fragmentation (RFC 6455 §5.4), modelled on section 5 of Autobahn|Testsuite.
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
// Section 5: fragmentation (RFC 6455 §5.4)
// ---------------------------------------------------------------------------------------------

// Autobahn 5.1; RFC 6455 §5.4/§5.5: control frames MUST NOT be fragmented.
TESTER_CASE(fragments, Case5_1_FailsOnFragmentedPingWith1002, "§5.4") {
  FrameSpec first = ping_frame("fragment1");
  first.fin = false;
  report(run_failure({first, continuation_frame("fragment2")}, {close_code::kProtocolError}));
}

// Autobahn 5.2; RFC 6455 §5.4/§5.5.
TESTER_CASE(fragments, Case5_2_FailsOnFragmentedPongWith1002, "§5.4") {
  FrameSpec first = pong_frame("fragment1");
  first.fin = false;
  report(run_failure({first, continuation_frame("fragment2")}, {close_code::kProtocolError}));
}

std::vector<FrameSpec> two_fragments() {
  return {text_frame("fragment1", false), continuation_frame("fragment2")};
}

// Autobahn 5.3; RFC 6455 §5.4: fragments reassemble into one message.
TESTER_CASE(fragments, Case5_3_EchoesTextSentInTwoFragments, "§5.4") {
  report(run_echo(two_fragments(), {text_event("fragment1fragment2")}));
}

// Autobahn 5.4; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_4_EchoesTwoFragmentsSentFrameByFrame, "§5.4") {
  Session session;
  send_frame_by_frame(session, two_fragments(), std::chrono::milliseconds(50));
  session.await_events(1, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {text_event("fragment1fragment2")}));
}

// Autobahn 5.5; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_5_EchoesTwoFragmentsSentByteByByte, "§5.4") {
  report(run_echo(two_fragments(), {text_event("fragment1fragment2")}, kByteByByte));
}

std::vector<FrameSpec> ping_between_fragments() {
  return {text_frame("fragment1", false), ping_frame("ping payload"),
          continuation_frame("fragment2")};
}

// Autobahn 5.6; RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented
// message and are answered right away.
TESTER_CASE(fragments, Case5_6_AnswersPingBetweenFragments, "§5.4") {
  report(run_echo(ping_between_fragments(),
                  {pong_event("ping payload"), text_event("fragment1fragment2")}));
}

// Autobahn 5.7; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_7_AnswersPingBetweenFragmentsSentFrameByFrame, "§5.4") {
  Session session;
  send_frame_by_frame(session, ping_between_fragments(), std::chrono::milliseconds(50));
  session.await_events(2, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(),
                          {pong_event("ping payload"), text_event("fragment1fragment2")}));
}

// Autobahn 5.8; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_8_AnswersPingBetweenFragmentsSentByteByByte, "§5.4") {
  report(run_echo(ping_between_fragments(),
                  {pong_event("ping payload"), text_event("fragment1fragment2")}, kByteByByte));
}

// Autobahn 5.x (pong variant of 5.6); RFC 6455 §5.4, §5.5.3: an unsolicited pong between
// fragments is ignored and does not disturb reassembly.
TESTER_CASE(fragments, Case5_x_IgnoresPongBetweenFragments, "§5.4") {
  report(run_echo(
      {text_frame("fragment1", false), pong_frame("unsolicited"), continuation_frame("fragment2")},
      {text_event("fragment1fragment2")}));
}

// Autobahn 5.x (pong and ping variant, byte-wise); RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_x_AnswersPingAndIgnoresPongBetweenFragmentsSentByteByByte, "§5.4") {
  report(run_echo({text_frame("fragment1", false), pong_frame("unsolicited"),
                   continuation_frame("fragment2", false), ping_frame("ping payload"),
                   continuation_frame("fragment3")},
                  {pong_event("ping payload"), text_event("fragment1fragment2fragment3")},
                  kByteByByte));
}

std::vector<FrameSpec> orphan_continuation(bool fin) {
  return {continuation_frame("non-continuation payload", fin), text_frame("Hello, world!")};
}

// Autobahn 5.9; RFC 6455 §5.4: a continuation frame with no message open is a violation.
TESTER_CASE(fragments, Case5_9_FailsOnFinalContinuationWithoutStartWith1002, "§5.4") {
  report(run_failure(orphan_continuation(true), {close_code::kProtocolError}));
}

// Autobahn 5.10; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_10_FailsOnFinalContinuationWithoutStartFrameByFrameWith1002, "§5.4") {
  Session session;
  send_frame_by_frame(session, orphan_continuation(true), std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_failure(session.observation(), {close_code::kProtocolError}));
}

// Autobahn 5.11; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_11_FailsOnFinalContinuationWithoutStartByteByByteWith1002, "§5.4") {
  report(run_failure(orphan_continuation(true), {close_code::kProtocolError}, kByteByByte));
}

// Autobahn 5.12; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_12_FailsOnNonFinalContinuationWithoutStartWith1002, "§5.4") {
  report(run_failure(orphan_continuation(false), {close_code::kProtocolError}));
}

// Autobahn 5.13; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_13_FailsOnNonFinalContinuationWithoutStartFrameByFrameWith1002,
            "§5.4") {
  Session session;
  send_frame_by_frame(session, orphan_continuation(false), std::chrono::milliseconds(50));
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_failure(session.observation(), {close_code::kProtocolError}));
}

// Autobahn 5.14; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_14_FailsOnNonFinalContinuationWithoutStartByteByByteWith1002, "§5.4") {
  report(run_failure(orphan_continuation(false), {close_code::kProtocolError}, kByteByByte));
}

// Autobahn 5.15; RFC 6455 §5.4: once FIN ended the message, a continuation has nothing to
// continue. The first message must be echoed before the failure.
TESTER_CASE(fragments, Case5_15_FailsOnContinuationAfterCompletedMessageWith1002, "§5.4") {
  report(run_failure({text_frame("fragment1", false), continuation_frame("fragment2", true),
                      continuation_frame("fragment3", false), text_frame("fragment4")},
                     {close_code::kProtocolError, {text_event("fragment1fragment2")}}));
}

// Autobahn 5.16; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_16_FailsOnRepeatedOrphanNonFinalContinuationWith1002, "§5.4") {
  std::vector<FrameSpec> frames;
  for (int i = 0; i < 2; ++i) {
    frames.push_back(continuation_frame("fragment1", false));
    frames.push_back(text_frame("fragment2", false));
    frames.push_back(continuation_frame("fragment3", true));
  }
  report(run_failure(frames, {close_code::kProtocolError}));
}

// Autobahn 5.17; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_17_FailsOnRepeatedOrphanFinalContinuationWith1002, "§5.4") {
  std::vector<FrameSpec> frames;
  for (int i = 0; i < 2; ++i) {
    frames.push_back(continuation_frame("fragment1", true));
    frames.push_back(text_frame("fragment2", false));
    frames.push_back(continuation_frame("fragment3", true));
  }
  report(run_failure(frames, {close_code::kProtocolError}));
}

// Autobahn 5.18; RFC 6455 §5.4: messages may not interleave, so a new text frame inside a
// fragmented message is a violation.
TESTER_CASE(fragments, Case5_18_FailsOnNewTextInsideFragmentedTextWith1002, "§5.4") {
  report(run_failure({text_frame("fragment1", false), text_frame("fragment2")},
                     {close_code::kProtocolError}));
}

// Autobahn 5.18 (binary variant); RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_x_FailsOnBinaryInsideFragmentedTextWith1002, "§5.4") {
  report(run_failure({text_frame("fragment1", false), binary_frame("fragment2")},
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
TESTER_CASE(fragments, Case5_19_AnswersPingsBetweenFiveFragmentsSentWithPauses, "§5.4") {
  Session session;
  send_frame_by_frame(session, five_fragments_with_pings(), std::chrono::milliseconds(100));
  session.await_events(3, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(),
                          {pong_event("pongme 1!"), pong_event("pongme 2!"),
                           text_event("fragment1fragment2fragment3fragment4fragment5")}));
}

// Autobahn 5.20; RFC 6455 §5.4.
TESTER_CASE(fragments, Case5_20_AnswersPingsBetweenFiveFragmentsSentByteByByte, "§5.4") {
  report(run_echo(five_fragments_with_pings(),
                  {pong_event("pongme 1!"), pong_event("pongme 2!"),
                   text_event("fragment1fragment2fragment3fragment4fragment5")},
                  kByteByByteFast));
}

}  // namespace
}  // namespace tester

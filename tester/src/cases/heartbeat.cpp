// Cases for the heartbeat (RFC 6455 §5.5.2-5.5.3): the server pings every ping period, drops a
// peer that stops answering, answers a client's ping, and closes a message that stops making
// progress (§10.4). The periods come from the command line (target().ping_period, pong_wait).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <string>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

// How late a ping may be beyond its period: scheduling, loaded machines, sanitizers.
constexpr auto kPingSlack = 500ms;
// How long after the pong wait a silent peer may still be connected.
constexpr auto kDropSlack = 1s;
// The pause between two payload bytes of the dripped frame.
constexpr auto kDripPause = 300ms;

std::string ms(Clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
         " ms";
}

// Reads what the server sends (answering its pings if the session does) until `done()` holds,
// the server closes, or `deadline` passes.
template <typename Done>
void read_until(Session& session, Deadline deadline, Done done) {
  while (!done() && !session.closed() && Clock::now() < deadline) {
    session.await_events(std::numeric_limits<std::size_t>::max(),
                         std::min(deadline, deadline_in(50ms)));
  }
}

// "close 1001", "TCP closed (end of stream)" or "nothing": how a session ended, for messages.
std::string how_it_ended(const Observation& seen) {
  if (seen.close) {
    return seen.close->code ? "close " + std::to_string(*seen.close->code) : "an empty close";
  }
  if (seen.tcp_closed_by_server) {
    return std::string("TCP closed (") + to_string(seen.tcp_end) + ") without a close frame";
  }
  return "nothing";
}

// RFC 6455 §5.5.2: a ping checks that the peer is still responsive; the course's server sends
// one every ping period from the upgrade on, so the first two arrive one period apart.
TESTER_CASE(heartbeat, Heartbeat_PingsWithinThePeriod, "§5.5.2") {
  const auto period = target().ping_period;
  Session session(kIgnoreMessages);
  const Clock::time_point opened = Clock::now();
  const auto& pings = session.observation().pings;

  read_until(session, opened + period + kPingSlack, [&] { return !pings.empty(); });
  if (pings.empty() || pings[0] > period + kPingSlack) {
    report({Behavior::kFailed, "no ping within " + ms(period + kPingSlack) +
                                   " of the upgrade (ping period " + ms(period) +
                                   "); the server sent " + how_it_ended(session.observation())});
    return;
  }
  const Clock::duration first = pings[0];
  read_until(session, opened + first + period + kPingSlack, [&] { return pings.size() >= 2; });
  if (pings.size() < 2 || pings[1] - first > period + kPingSlack) {
    report({Behavior::kFailed, "first ping after " + ms(first) + ", but no second one within " +
                                   ms(period + kPingSlack) + " of it; the server sent " +
                                   how_it_ended(session.observation())});
  }
}

// RFC 6455 §5.5.2-5.5.3: a peer that does not answer pings is gone; the server closes it within
// ping period + pong wait. §7.4.1: 1001 "going away" is the code the course's server sends; the
// RFC does not require a close frame to a dead peer, so a bare TCP close is NON-STRICT.
TESTER_CASE(heartbeat, Heartbeat_ClosesAPeerThatNeverAnswersPings, "§5.5.2") {
  const auto budget = target().ping_period + target().pong_wait + kDropSlack;
  Session session(SessionOptions{
      .answer_pings = false, .record_messages = false, .compressed_messages = false});
  session.await_close(deadline_in(budget));
  const Observation& seen = session.observation();
  if (!seen.server_violation.empty()) {
    report({Behavior::kFailed, seen.server_violation});
    return;
  }
  if (!session.closed()) {
    report({Behavior::kFailed, "still connected " + ms(budget) + " after the upgrade although " +
                                   std::to_string(seen.pings.size()) +
                                   " ping(s) went unanswered (ping period + pong wait + 1 s)"});
    return;
  }
  if (seen.pings.empty()) {
    report({Behavior::kNonStrict, "closed the silent peer after " + ms(seen.time_to_close) +
                                      " without pinging it first (" + how_it_ended(seen) + ")"});
    return;
  }
  if (!seen.close) {
    report({Behavior::kNonStrict, "dropped the silent peer after " + ms(seen.time_to_close) +
                                      " with " + how_it_ended(seen) +
                                      "; the course's server sends close 1001 first"});
    return;
  }
  if (seen.close->code != std::uint16_t{1001}) {
    report({Behavior::kNonStrict, "closed the silent peer with " + how_it_ended(seen) +
                                      "; 1001 (going away, RFC 6455 §7.4.1) is the course's code"});
  }
}

// RFC 6455 §5.5.3: a peer that answers every ping with a pong is alive and must stay connected;
// after three periods it still closes cleanly (§7.1.2).
TESTER_CASE(heartbeat, Heartbeat_KeepsAPeerThatAnswersPings, "§5.5.3") {
  const auto watch = 3 * target().ping_period;
  Session session(kIgnoreMessages);
  read_until(session, deadline_in(watch), [] { return false; });
  if (session.closed()) {
    const Observation& seen = session.observation();
    report({Behavior::kFailed, "closed a peer that answered all " +
                                   std::to_string(seen.pings.size()) + " ping(s) after " +
                                   ms(seen.time_to_close) + " with " + how_it_ended(seen)});
    return;
  }
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {}));
}

// RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
// response", with the same application data. Chat servers answer too: data messages are ignored.
TESTER_CASE(heartbeat, Heartbeat_AnswersAClientPingWithTheSamePayload, "§5.5.2") {
  const std::string payload = "are you there? 0123456789";
  Session session(kIgnoreMessages);
  session.send(ping_frame(payload));
  session.await_events(1, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {pong_event(payload)}));
}

// RFC 6455 §10.4 and the course's rule: a started message must finish (or deliver 16 KiB more)
// within 2 x pong wait, otherwise it is a slowloris inside a frame and is closed with 1008
// (§7.4.1, policy violation). The peer plays silent (answer_pings=false) because a pong cannot
// be sent inside an unfinished frame (§5.4 allows control frames only between frames); the
// dripped bytes themselves show it is alive.
TESTER_CASE(heartbeat, Heartbeat_ClosesAFrameDrippedTooSlowlyWith1008, "§10.4") {
  const std::string payload = ascii_payload(100);
  const std::string bytes = encode_frame(text_frame(payload));
  const std::size_t header = masked_header_size(payload.size());
  const auto budget = 2 * target().pong_wait + 1s;

  Session session(SessionOptions{
      .answer_pings = false, .record_messages = false, .compressed_messages = false});
  const Clock::time_point opened = Clock::now();
  note("> text header announcing 100 B, then one payload byte every " + ms(kDripPause));
  session.send_raw(std::string_view(bytes).substr(0, header));
  const Clock::time_point first_byte = Clock::now();
  const Deadline deadline = first_byte + budget;
  for (std::size_t i = header; i < bytes.size() && !session.closed() && Clock::now() < deadline;
       ++i) {
    if (!session.send_raw(std::string_view(bytes).substr(i, 1))) {
      break;  // the server closed while we wrote: its close frame may still be readable
    }
    session.await_close(std::min(deadline, deadline_in(kDripPause)));
  }
  if (!session.closed()) {
    session.await_close(std::max(deadline, deadline_in(200ms)));
  }

  FailureExpectation expect{1008};
  expect.non_strict_codes = {1001};
  expect.non_strict_reason =
      "the peer kept sending; 1008 (policy violation) is the course's code for a message that "
      "makes no progress, 1001 says the peer is gone";
  Verdict verdict = judge_failure(session.observation(), expect);
  const Observation& seen = session.observation();
  if (session.closed() && opened + seen.time_to_close > deadline) {
    verdict = worst(
        verdict, {Behavior::kFailed, "closed only " + ms(opened + seen.time_to_close - first_byte) +
                                         " after the first byte, allowed " + ms(budget)});
  }
  report(verdict);
}

}  // namespace
}  // namespace tester

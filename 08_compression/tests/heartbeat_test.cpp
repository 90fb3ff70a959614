// The heartbeat's timeline (RFC 6455 §5.5.2-5.5.3) and the window of a started message (§10.4),
// step by step on made-up time points.
#include "heartbeat.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "frame.hpp"
#include "message.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;
using Clock = Heartbeat::Clock;

const Clock::time_point kStart = Clock::time_point() + 1h;

/// Hands `bytes` to `reader` the way Connection::next_event does, and tells the heartbeat what
/// the read did to the message under way. Returns the event the bytes completed, if any.
std::optional<Event> deliver(MessageReader& reader, Heartbeat& heartbeat, std::string_view bytes,
                             Clock::time_point now) {
  MessageReader::Result result = reader.read(bytes);
  EXPECT_EQ(result.consumed, bytes.size()) << "one event at a time, please";
  EXPECT_FALSE(result.error);
  heartbeat.on_message_bytes(result.consumed, !reader.between_messages(), now);
  return result.event;
}

/// A frame as a client sends it (masked, §5.3).
std::string client_frame(Opcode opcode, std::string_view payload, bool fin = true) {
  return encode_frame(opcode, payload, fin, MaskingKey{0x37, 0xfa, 0x21, 0x3d});
}

TEST(Heartbeat, PingsOncePerPeriod) {
  Heartbeat heartbeat(30s, 10s, kStart);
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 30s);
  EXPECT_FALSE(heartbeat.ping_due(kStart + 29s));
  const auto first = heartbeat.ping_due(kStart + 30s);
  ASSERT_TRUE(first);
  EXPECT_FALSE(heartbeat.ping_due(kStart + 31s)) << "one ping per period";
  heartbeat.on_activity();
  EXPECT_TRUE(heartbeat.ping_due(kStart + 60s));
}

TEST(Heartbeat, ASilentPeerExpiresPongWaitAfterThePing) {
  Heartbeat heartbeat(30s, 10s, kStart);
  ASSERT_TRUE(heartbeat.ping_due(kStart + 30s));
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 40s) << "the pong deadline comes first";
  EXPECT_FALSE(heartbeat.expired(kStart + 39s));
  EXPECT_TRUE(heartbeat.expired(kStart + 40s));
}

TEST(Heartbeat, AnyActivityKeepsThePeerAlive) {
  Heartbeat heartbeat(30s, 10s, kStart);
  ASSERT_TRUE(heartbeat.ping_due(kStart + 30s));
  heartbeat.on_activity();  // e.g. a data frame, or a pong
  EXPECT_FALSE(heartbeat.expired(kStart + 45s));
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 60s);
}

TEST(Heartbeat, APingPeriodShorterThanPongWaitKeepsTheFirstDeadline) {
  // Pings every 100 ms, 250 ms to answer: later pings must not push the deadline back.
  Heartbeat heartbeat(100ms, 250ms, kStart);
  ASSERT_TRUE(heartbeat.ping_due(kStart + 100ms));
  ASSERT_TRUE(heartbeat.ping_due(kStart + 200ms));
  ASSERT_TRUE(heartbeat.ping_due(kStart + 300ms));
  EXPECT_FALSE(heartbeat.expired(kStart + 349ms));
  EXPECT_TRUE(heartbeat.expired(kStart + 350ms));
}

TEST(Heartbeat, MatchesThePongOfOurPingAndMeasuresTheRoundTrip) {
  Heartbeat heartbeat(30s, 10s, kStart);
  const auto payload = heartbeat.ping_due(kStart + 30s);
  ASSERT_TRUE(payload);
  EXPECT_LE(payload->size(), 125U) << "a control frame's payload limit (§5.5)";
  const auto match = heartbeat.match_pong(*payload, kStart + 30s + 1500us);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->sequence, 1U);
  EXPECT_EQ(match->round_trip, 1500us);
}

TEST(Heartbeat, IgnoresPongsThatAnswerNoPingOfOurs) {
  Heartbeat heartbeat(30s, 10s, kStart);
  EXPECT_FALSE(heartbeat.match_pong("", kStart));
  EXPECT_FALSE(heartbeat.match_pong("hello", kStart));
  EXPECT_FALSE(heartbeat.match_pong("1 0", kStart)) << "no ping has been sent yet";
  ASSERT_TRUE(heartbeat.ping_due(kStart + 30s));
  EXPECT_FALSE(heartbeat.match_pong("2 30000000", kStart + 31s)) << "a ping we never sent";
  EXPECT_FALSE(heartbeat.match_pong("1 99999999999", kStart + 31s)) << "sent in the future";
  EXPECT_FALSE(heartbeat.match_pong("1 30000000 extra", kStart + 31s));
}

// ---------------------------------------------------------------------------------------
// The window of a started message: with pong_wait 10 s, 20 s to finish or to deliver 16 KiB.

TEST(MessageWindow, OpensAtTheFirstByteOfAFrameNotBefore) {
  Heartbeat heartbeat(30s, 10s, kStart);
  EXPECT_EQ(heartbeat.message_window(), 20s);
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 25s)) << "an idle connection has no message";
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 30s) << "only the ping to wait for";

  MessageReader reader(Role::kServer, {});
  const std::string frame = client_frame(Opcode::kText, "hello");
  EXPECT_FALSE(deliver(reader, heartbeat, std::string_view(frame).substr(0, 1), kStart + 5s));
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 25s) << "the window ends before the next ping";
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 25s - 1ms));
  EXPECT_TRUE(heartbeat.message_too_slow(kStart + 25s));
}

TEST(MessageWindow, ACompleteMessageClosesIt) {
  Heartbeat heartbeat(30s, 10s, kStart);
  MessageReader reader(Role::kServer, {});
  const std::string frame = client_frame(Opcode::kBinary, std::string(100, 'x'));
  EXPECT_FALSE(deliver(reader, heartbeat, std::string_view(frame).substr(0, 10), kStart + 1s));
  EXPECT_TRUE(deliver(reader, heartbeat, std::string_view(frame).substr(10), kStart + 19s));
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 21s));
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 1000s));
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 30s) << "back to the ping";

  // The next message gets a window of its own, from its own first byte.
  EXPECT_FALSE(deliver(reader, heartbeat, std::string_view(frame).substr(0, 1), kStart + 50s));
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 70s - 1ms));
  EXPECT_TRUE(heartbeat.message_too_slow(kStart + 70s));
}

TEST(MessageWindow, TheFragmentsOfOneMessageAndThePingsBetweenThemShareOneWindow) {
  // §5.4: one message in fragments, control frames allowed between them. Neither a complete
  // fragment nor a complete ping may restart the clock, or a peer could drip a message forever
  // one small fragment (or one ping) at a time.
  Heartbeat heartbeat(30s, 10s, kStart);
  MessageReader reader(Role::kServer, {});
  EXPECT_FALSE(deliver(reader, heartbeat, client_frame(Opcode::kText, "Hel", false), kStart + 1s));
  EXPECT_EQ(deliver(reader, heartbeat, client_frame(Opcode::kPing, "p"), kStart + 8s),
            std::optional<Event>(Ping{"p"}));
  EXPECT_FALSE(
      deliver(reader, heartbeat, client_frame(Opcode::kContinuation, "l", false), kStart + 15s));
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 21s - 1ms));
  EXPECT_TRUE(heartbeat.message_too_slow(kStart + 21s)) << "20 s after the first fragment";

  // Finished in time instead, the same message never trips the rule.
  Heartbeat in_time(30s, 10s, kStart);
  MessageReader other(Role::kServer, {});
  deliver(other, in_time, client_frame(Opcode::kText, "Hel", false), kStart + 1s);
  deliver(other, in_time, client_frame(Opcode::kPing, "p"), kStart + 8s);
  EXPECT_EQ(deliver(other, in_time, client_frame(Opcode::kContinuation, "lo"), kStart + 20s),
            std::optional<Event>(Message{Opcode::kText, "Hello"}));
  EXPECT_FALSE(in_time.message_too_slow(kStart + 21s));
}

TEST(MessageWindow, ADripIsTooSlowWhileTheHeartbeatSeesSignsOfLife) {
  // The hostile suite's drip: pings every second, 1 s to answer, a frame's header and then one
  // byte every 0.8 s. Every byte is a sign of life, so the heartbeat alone never expires.
  Heartbeat heartbeat(1s, 1s, kStart);
  MessageReader reader(Role::kServer, {});
  const std::string frame = client_frame(Opcode::kText, std::string(100, 'x'));
  deliver(reader, heartbeat, std::string_view(frame).substr(0, 6), kStart);
  heartbeat.on_activity();
  for (std::size_t i = 1; i <= 2; ++i) {
    const Clock::time_point now = kStart + i * 800ms;
    EXPECT_FALSE(heartbeat.expired(now));
    EXPECT_FALSE(heartbeat.message_too_slow(now));
    heartbeat.ping_due(now);
    deliver(reader, heartbeat, std::string_view(frame).substr(5 + i, 1), now);
    heartbeat.on_activity();
  }
  EXPECT_EQ(heartbeat.next_wakeup(), kStart + 2s) << "the message window comes first";
  EXPECT_FALSE(heartbeat.expired(kStart + 2s)) << "alive: the last byte came 0.4 s ago";
  EXPECT_TRUE(heartbeat.message_too_slow(kStart + 2s)) << "but 7 bytes in 2 s is too slow";
}

TEST(MessageWindow, EverySixteenKibibytesOpenAFreshWindow) {
  // A 16 MiB message (the echo server's default limit) over a slow link, for five hours: 8 KiB,
  // 10 s later 8 KiB more, 9 s later... 16 KiB every 19 s (0.86 KiB/s), each time just inside
  // the window.
  Heartbeat heartbeat(30s, 10s, kStart);
  Clock::time_point now = kStart;
  heartbeat.on_message_bytes(1, true, now);
  for (int window = 0; window < 1000; ++window) {
    now += 10s;
    heartbeat.on_message_bytes(kMessageProgressBytes / 2, true, now);
    now += 9s;
    ASSERT_FALSE(heartbeat.message_too_slow(now)) << "window " << window;
    heartbeat.on_message_bytes(kMessageProgressBytes / 2, true, now);  // a fresh window from now
  }
  // Then it stalls: one window after its last 16 KiB it is too slow, however much came before.
  EXPECT_FALSE(heartbeat.message_too_slow(now + 20s - 1ms));
  EXPECT_TRUE(heartbeat.message_too_slow(now + 20s));
}

TEST(MessageWindow, LessThanSixteenKibibytesPerWindowIsTooSlow) {
  Heartbeat heartbeat(30s, 10s, kStart);
  heartbeat.on_message_bytes(1, true, kStart);
  for (int second = 1; second < 20; ++second) {
    heartbeat.on_message_bytes(800, true, kStart + second * 1s);  // 0.8 KiB/s: 15.2 KiB by 19 s
  }
  EXPECT_FALSE(heartbeat.message_too_slow(kStart + 20s - 1ms));
  EXPECT_TRUE(heartbeat.message_too_slow(kStart + 20s));
}

TEST(MessageWindow, NormalTrafficNeverTripsIt) {
  // A chatty client for ten minutes: a 4 KiB message every 3 s, each split across two reads
  // 1 s apart, pings answered; not once is a message too slow, nor the peer dead.
  Heartbeat heartbeat(30s, 10s, kStart);
  MessageReader reader(Role::kServer, {});
  const std::string frame = client_frame(Opcode::kText, std::string(4096, 'm'));
  for (int i = 0; i < 200; ++i) {
    const Clock::time_point sent = kStart + i * 3s;
    if (const auto ping = heartbeat.ping_due(sent)) {
      EXPECT_TRUE(heartbeat.match_pong(*ping, sent + 1ms));
    }
    ASSERT_FALSE(deliver(reader, heartbeat, std::string_view(frame).substr(0, 2000), sent));
    heartbeat.on_activity();
    ASSERT_FALSE(heartbeat.message_too_slow(sent + 1s));
    ASSERT_TRUE(deliver(reader, heartbeat, std::string_view(frame).substr(2000), sent + 1s));
    heartbeat.on_activity();
    ASSERT_FALSE(heartbeat.message_too_slow(sent + 3s));
    ASSERT_FALSE(heartbeat.expired(sent + 3s));
  }
}

}  // namespace
}  // namespace ws

// The heartbeat's timeline (RFC 6455 §5.5.2-5.5.3), step by step on made-up time points.
#include "heartbeat.hpp"

#include <gtest/gtest.h>

namespace ws {
namespace {

using namespace std::chrono_literals;
using Clock = Heartbeat::Clock;

const Clock::time_point kStart = Clock::time_point() + 1h;

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

}  // namespace
}  // namespace ws

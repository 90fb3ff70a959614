// The egress queue: ordered, resumes partial writes, bounded in bytes, refuses everything once
// overflowed, and can make way for a close frame without cutting a frame in two.
#include "egress.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ws {
namespace {

SharedFrame frame(const std::string& text) { return std::make_shared<const std::string>(text); }

// What gather() offers now, concatenated: the bytes a write would send next.
std::string waiting(const EgressQueue& queue) {
  std::array<std::string_view, 64> parts{};
  std::string out;
  for (std::size_t i = 0; i < queue.gather(parts); ++i) {
    out += parts.at(i);
  }
  return out;
}

TEST(EgressQueue, OffersFramesInOrderAndResumesAPartialWrite) {
  EgressQueue queue(1024);
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.push(frame("abc")));
  EXPECT_TRUE(queue.push(frame("defg")));
  EXPECT_EQ(queue.bytes(), 7U);
  EXPECT_EQ(waiting(queue), "abcdefg");
  queue.consume(2);  // the socket took "ab"
  EXPECT_EQ(waiting(queue), "cdefg");
  EXPECT_EQ(queue.bytes(), 5U);
  queue.consume(3);  // "cde": the first frame is done, the second started
  EXPECT_EQ(waiting(queue), "fg");
  queue.consume(2);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0U);
}

TEST(EgressQueue, GathersAtMostTheSpaceItIsGiven) {
  EgressQueue queue(1024);
  for (char c = 'a'; c <= 'e'; ++c) {
    queue.push(frame(std::string(1, c)));
  }
  std::array<std::string_view, 3> parts{};
  ASSERT_EQ(queue.gather(parts), 3U);
  EXPECT_EQ(parts[2], "c");
}

TEST(EgressQueue, OverflowIsInBytesRefusedAndRemembered) {
  EgressQueue queue(10);
  EXPECT_TRUE(queue.push(frame(std::string(6, 'x'))));
  EXPECT_TRUE(queue.push(frame(std::string(6, 'y')))) << "under the limit before the push: taken";
  EXPECT_FALSE(queue.overflowed());
  EXPECT_FALSE(queue.push(frame("z"))) << "12 bytes wait, the limit is 10";
  EXPECT_TRUE(queue.overflowed());
  queue.consume(12);
  EXPECT_FALSE(queue.push(frame("z"))) << "once overflowed, the connection is closing";
}

TEST(EgressQueue, OneFrameLargerThanTheLimitStillFits) {
  EgressQueue queue(10);
  EXPECT_TRUE(queue.push(frame(std::string(100, 'x'))));
  EXPECT_EQ(queue.bytes(), 100U);
}

TEST(EgressQueue, MakingWayKeepsOnlyTheRestOfAStartedFrame) {
  EgressQueue queue(1024);
  queue.push(frame("first"));
  queue.push(frame("second"));
  queue.consume(2);
  queue.drop_unstarted();
  queue.push_anyway(frame("CLOSE"));
  EXPECT_EQ(waiting(queue), "rstCLOSE") << "the started frame is finished, the rest dropped";

  EgressQueue fresh(1024);
  fresh.push(frame("unstarted"));
  fresh.drop_unstarted();
  EXPECT_TRUE(fresh.empty());
  EXPECT_EQ(fresh.bytes(), 0U);
}

TEST(EgressQueue, SharesFramesInsteadOfCopyingThem) {
  EgressQueue first(64);
  EgressQueue second(64);
  const SharedFrame shared = frame("broadcast");
  first.push(shared);
  second.push(shared);
  EXPECT_EQ(shared.use_count(), 3);
  first.consume(shared->size());
  EXPECT_EQ(shared.use_count(), 2) << "a written frame is released at once";
}

}  // namespace
}  // namespace ws

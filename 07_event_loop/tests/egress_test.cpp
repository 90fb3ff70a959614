// The egress queue: bounded, ordered, wakes its owner, refuses everything once overflowed.
#include "egress.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>

namespace ws {
namespace {

SharedFrame frame(const std::string& text) { return std::make_shared<const std::string>(text); }

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(EgressQueue, DeliversInOrderAndWakesTheOwner) {
  EgressQueue queue(8);
  EXPECT_FALSE(readable(queue.wake_fd()));
  EXPECT_TRUE(queue.push(frame("a")));
  EXPECT_TRUE(queue.push(frame("b")));
  EXPECT_TRUE(readable(queue.wake_fd()));
  const auto frames = queue.drain();
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(*frames[0], "a");
  EXPECT_EQ(*frames[1], "b");
  EXPECT_FALSE(readable(queue.wake_fd())) << "drain() clears the wake-up";
  EXPECT_TRUE(queue.drain().empty());
}

TEST(EgressQueue, OverflowIsRefusedRememberedAndSignalled) {
  EgressQueue queue(2);
  EXPECT_TRUE(queue.push(frame("1")));
  EXPECT_TRUE(queue.push(frame("2")));
  queue.drain();
  EXPECT_TRUE(queue.push(frame("3")));
  EXPECT_TRUE(queue.push(frame("4")));
  EXPECT_FALSE(queue.push(frame("5"))) << "full";
  EXPECT_TRUE(queue.overflowed());
  EXPECT_TRUE(readable(queue.wake_fd())) << "the owner must learn about it";
  queue.drain();
  EXPECT_FALSE(queue.push(frame("6"))) << "nothing more is accepted once overflowed";
}

TEST(EgressQueue, SharesFramesInsteadOfCopyingThem) {
  EgressQueue first(4);
  EgressQueue second(4);
  const SharedFrame broadcast = frame("same bytes for everyone");
  first.push(broadcast);
  second.push(broadcast);
  EXPECT_EQ(first.drain()[0].get(), second.drain()[0].get());
}

TEST(EgressQueue, ManyProducersOneConsumerLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kFramesEach = 2000;
  EgressQueue queue(std::size_t{kProducers} * kFramesEach);
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&queue, p] {
      for (int i = 0; i < kFramesEach; ++i) {
        queue.push(frame(std::to_string(p) + ":" + std::to_string(i)));
      }
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < kProducers * kFramesEach && std::chrono::steady_clock::now() < deadline) {
    pollfd p{queue.wake_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    for (const auto& f : queue.drain()) {
      const auto colon = f->find(':');
      const int producer = std::stoi(f->substr(0, colon));
      EXPECT_EQ(std::stoi(f->substr(colon + 1)), next[static_cast<std::size_t>(producer)]++)
          << "each producer's frames stay in order";
      ++received;
    }
  }
  for (auto& producer : producers) {
    producer.join();
  }
  EXPECT_EQ(received, kProducers * kFramesEach);
  EXPECT_FALSE(queue.overflowed());
}

}  // namespace
}  // namespace ws

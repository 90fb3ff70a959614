// A connection's egress queue.
#include "egress.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>

namespace ws {

EgressQueue::EgressQueue(std::size_t capacity)
    : capacity_(capacity), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_.valid()) {
    throw std::runtime_error("eventfd: " + error_text(errno));
  }
}

bool EgressQueue::push(SharedFrame frame) {
  bool accepted = false;
  bool wake = false;
  {
    const std::lock_guard lock(mutex_);
    if (overflowed_) {
      return false;
    }
    if (frames_.size() == capacity_) {
      overflowed_ = true;
      wake = true;  // the owner must notice and close the connection
    } else {
      // Only the first frame after a drain needs a wake-up: while frames are waiting, the owner
      // has already been woken and will take this one with them. This saves a system call per
      // frame on a busy connection.
      wake = frames_.empty();
      frames_.push_back(std::move(frame));
      accepted = true;
    }
  }
  if (wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
  }
  return accepted;
}

std::vector<SharedFrame> EgressQueue::drain() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto read = ::read(wake_.get(), &count, sizeof count);
  const std::lock_guard lock(mutex_);
  std::vector<SharedFrame> frames(std::make_move_iterator(frames_.begin()),
                                  std::make_move_iterator(frames_.end()));
  frames_.clear();
  return frames;
}

bool EgressQueue::overflowed() const {
  const std::lock_guard lock(mutex_);
  return overflowed_;
}

}  // namespace ws

// A connection's egress queue.
#include "egress.hpp"

#include <algorithm>

namespace ws {

bool EgressQueue::push(SharedFrame frame) {
  if (overflowed_ || bytes_ >= limit_) {
    overflowed_ = true;
    return false;
  }
  push_anyway(std::move(frame));
  return true;
}

void EgressQueue::push_anyway(SharedFrame frame) {
  bytes_ += frame->size();
  frames_.push_back(std::move(frame));
}

std::size_t EgressQueue::gather(std::span<std::string_view> parts) const {
  std::size_t count = 0;
  for (std::size_t i = head_; i < frames_.size() && count < parts.size(); ++i) {
    std::string_view frame(*frames_[i]);
    if (i == head_) {
      frame.remove_prefix(offset_);
    }
    parts[count++] = frame;
  }
  return count;
}

void EgressQueue::consume(std::size_t bytes) {
  bytes_ -= std::min(bytes, bytes_);
  while (bytes > 0 && head_ < frames_.size()) {
    const std::size_t rest = frames_[head_]->size() - offset_;
    const std::size_t taken = std::min(rest, bytes);
    offset_ += taken;
    bytes -= taken;
    if (offset_ == frames_[head_]->size()) {
      frames_[head_].reset();  // the last receiver of a broadcast frees it here
      ++head_;
      offset_ = 0;
    }
  }
  if (head_ == frames_.size()) {
    // Empty again: forget the slots, and give back the memory of a burst, so an idle connection
    // holds nothing.
    frames_.clear();
    head_ = 0;
    if (frames_.capacity() > 16) {
      frames_.shrink_to_fit();
    }
  }
}

void EgressQueue::drop_unstarted() {
  const std::size_t keep = offset_ > 0 ? 1 : 0;
  frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(head_ + keep), frames_.end());
  bytes_ = keep == 1 ? frames_[head_]->size() - offset_ : 0;
  if (keep == 0) {
    frames_.clear();
    head_ = 0;
  }
}

}  // namespace ws

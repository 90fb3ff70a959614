// A connection's egress queue: how other threads hand frames to the one thread that writes to
// the socket. Bounded, so a client that reads too slowly is closed instead of growing the
// server's memory or slowing down the senders (the Go chat this course started from used an
// unbuffered channel per client, so one client that did not read stalled every broadcast).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "socket.hpp"

namespace ws {

/// A complete, encoded frame. Server frames are never masked, so one encoding of a broadcast
/// serves every receiver: the frame is shared, not copied.
using SharedFrame = std::shared_ptr<const std::string>;

/// Frames waiting for one connection's writer thread.
///
/// Any thread may push(); only the owning connection's thread drains. The queue wakes that
/// thread through an eventfd it polls together with its socket. When the queue is full the
/// push fails and the queue is marked overflowed: the owner closes the connection (a slow
/// consumer), and every later push is refused, so nothing is ever silently dropped while the
/// connection lives on.
class EgressQueue {
 public:
  /// `capacity`: the most frames that may wait at once.
  explicit EgressQueue(std::size_t capacity);

  /// Queues a frame. Returns false, and marks the queue overflowed, if it is full or already
  /// overflowed. Thread-safe; never blocks on the socket.
  bool push(SharedFrame frame);

  /// Takes every queued frame, oldest first, and clears the wake-up. Owner thread only.
  std::vector<SharedFrame> drain();

  /// True once a push found the queue full.
  [[nodiscard]] bool overflowed() const;

  /// Readable while frames are waiting (or the queue overflowed): poll it with the socket.
  [[nodiscard]] int wake_fd() const { return wake_.get(); }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<SharedFrame> frames_;
  bool overflowed_ = false;
  Fd wake_;
};

}  // namespace ws

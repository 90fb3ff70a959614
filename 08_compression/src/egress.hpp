// A connection's egress queue: the encoded frames waiting for its socket, in order. An event loop
// never waits for a socket to take bytes, so whatever the kernel does not take now waits here.
// Bounded, so a client that reads too slowly is closed instead of growing the server's memory
// (the Go chat this course started from used an unbuffered channel per client, so one client
// that did not read stalled every broadcast).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

/// A complete, encoded frame. Server frames are never masked, so one encoding of a broadcast
/// serves every receiver: the frame is shared, not copied.
using SharedFrame = std::shared_ptr<const std::string>;

/// A message for others than its sender, encoded once for each kind of receiver.
/// `plain`: an ordinary frame, for receivers without compression, and the source of the text
/// for those that compress each message with their own context.
/// `deflated`: the same message compressed on its own (RFC 7692 §7.2.1, RSV1 set), with a window
/// every receiver that agreed to server_no_context_takeover accepts, or `plain` again when
/// compressing did not make it smaller; null when none of those receivers is among them, and a
/// receiver that finds it null compresses the message itself.
struct Broadcast {
  SharedFrame plain;
  SharedFrame deflated;
};

/// Takes broadcasts for the connections it owns, from any thread. In the server this is an event
/// loop: it hands the frames to those connections' queues on its own thread.
class FrameSink {
 public:
  /// Queues `broadcast` for each connection in `ids` that is still open. Thread-safe.
  virtual void deliver(std::vector<std::uint64_t> ids, Broadcast broadcast) = 0;

 protected:
  FrameSink() = default;
  FrameSink(const FrameSink&) = default;
  FrameSink& operator=(const FrameSink&) = default;
  FrameSink(FrameSink&&) = default;
  FrameSink& operator=(FrameSink&&) = default;
  ~FrameSink() = default;
};

/// Frames waiting for one connection's socket, oldest first, with how much of the first one the
/// socket has already taken (a partial write resumes there).
///
/// Used by the connection's loop thread only. When the queue already holds `limit` bytes, a push
/// is refused and the queue is marked overflowed: the connection is closed (a slow consumer), and
/// every later push is refused, so nothing is ever silently dropped while the connection lives
/// on. A push below the limit is taken whole, so one large frame always fits.
class EgressQueue {
 public:
  /// `limit`: the bytes that may wait before the client counts as too slow.
  explicit EgressQueue(std::size_t limit) : limit_(limit) {}

  /// Queues a frame. Returns false, and marks the queue overflowed, if the queue holds `limit`
  /// bytes or more, or has already overflowed.
  bool push(SharedFrame frame);

  /// Queues a frame whatever the limit: the close frame that tells a slow consumer why it goes.
  void push_anyway(SharedFrame frame);

  /// Views of up to `parts.size()` waiting frames, in order, the first one starting where the
  /// last write stopped. Returns how many it filled.
  [[nodiscard]] std::size_t gather(std::span<std::string_view> parts) const;

  /// The socket took `bytes` more bytes: forget what has been written.
  void consume(std::size_t bytes);

  /// Drops every waiting frame except what remains of one already partly written: a frame cut in
  /// the middle would corrupt the stream for whatever follows it.
  void drop_unstarted();

  [[nodiscard]] bool empty() const { return head_ == frames_.size(); }
  /// Bytes waiting, the unwritten rest of the first frame included.
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  /// True once a push found the queue full.
  [[nodiscard]] bool overflowed() const { return overflowed_; }

 private:
  std::size_t limit_;
  std::vector<SharedFrame> frames_;  // frames_[head_..] wait; a vector: nothing allocated idle
  std::size_t head_ = 0;
  std::size_t offset_ = 0;  // bytes of frames_[head_] already written
  std::size_t bytes_ = 0;
  bool overflowed_ = false;
};

}  // namespace ws

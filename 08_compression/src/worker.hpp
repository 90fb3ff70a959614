// A worker: one event loop on its own thread and the connections it owns. The server runs one per
// core; each connection belongs to one worker for its whole life, so nothing about a connection
// is ever touched by two threads, and it needs no lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "blocking_pool.hpp"
#include "chat_services.hpp"
#include "connection.hpp"
#include "egress.hpp"
#include "event_loop.hpp"
#include "options.hpp"
#include "transport.hpp"

namespace ws {

/// The most bytes that may wait for one client's socket: 256 chat messages at the chat's 4 KiB
/// limit (gorilla's chat example allows 256 messages per client, whatever their size). Past it,
/// the client is a slow consumer and is closed with 1008.
inline constexpr std::size_t kEgressLimit = std::size_t{1024} * 1024;

/// One event loop and its connections. The loop's own methods (adopt, the connections') run on
/// the worker's thread; deliver() and stop() may be called from any thread.
class Worker final : public FrameSink {
 public:
  /// `open` counts the server's connections across workers (--max-connections); `tls` is null
  /// for plain TCP; `blocking` runs what must not run on the loop.
  Worker(const Options& options, ChatServices& services, const TlsContext* tls,
         std::atomic<std::size_t>& open, BlockingPool& blocking);

  [[nodiscard]] EventLoop& loop() { return loop_; }
  [[nodiscard]] const Options& options() const { return options_; }
  [[nodiscard]] ChatServices& services() const { return services_; }

  /// Starts serving an accepted socket as connection `id`. Worker thread only (the acceptor
  /// posts it here).
  void adopt(Fd socket, std::uint64_t id);

  /// Queues `frame` for the connections in `ids`, on the worker's thread: one task, one wake-up,
  /// however many members of a room this loop holds. Thread-safe.
  void deliver(std::vector<std::uint64_t> ids, Broadcast broadcast) override;

  /// Runs the loop until stop() has been called and every connection has ended.
  void run();

  /// Starts the shutdown: WebSockets are closed with 1001, the rest are dropped. Thread-safe.
  void stop();

  // --- for the connections ---
  /// The connection queued bytes: flush it at the end of this pass (corking).
  void mark_dirty(Connection& connection);
  /// The connection needs its timer at `when` (only ever brought forward; see EventLoop::wake_at).
  void wake_at(Deadline when, std::uint64_t id) { loop_.wake_at(when, id); }
  /// Calls connection `id`'s on_ready(`events`), if it still exists: for a connection that has
  /// more to read than one pass allows but whose socket epoll may not report again (TLS).
  void on_ready_later(std::uint64_t id, std::uint32_t events);
  /// The connection has ended: destroy it after this pass.
  void ended(Connection& connection) { ended_.push_back(connection.id()); }
  /// Runs `work` on the blocking pool, then `then` with its result back on this loop, if
  /// connection `id` is still open by then. False when the pool is full (nothing runs).
  bool offload(std::uint64_t id, std::function<bool()> work, std::function<void(bool)> then);
  /// One buffer for every read on this loop: idle connections hold no read buffer.
  [[nodiscard]] std::span<char> read_buffer() { return read_buffer_; }

 private:
  void on_timer(std::uint64_t id);
  void flush_dirty();
  void reap();

  const Options& options_;
  ChatServices& services_;
  const TlsContext* tls_;
  std::atomic<std::size_t>& open_;
  BlockingPool& blocking_;
  EventLoop loop_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> dirty_;
  std::vector<std::uint64_t> ended_;
  bool stopping_ = false;
  std::array<char, std::size_t{16} * 1024> read_buffer_;  // not zeroed: it is always written first
};

}  // namespace ws

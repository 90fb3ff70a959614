// An event loop: one thread that waits for many sockets at once (epoll), runs the work other
// threads hand it, and keeps the timers of every connection it owns in one heap. The server runs
// one per core (server.hpp) instead of one thread per connection.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <vector>

#include "socket.hpp"

namespace ws {

/// One thread's reactor: readiness of descriptors, tasks from other threads, and timers.
///
/// A pass of wait_and_dispatch():
///
///     epoll_wait(until the earliest timer) ─▶ tasks posted by other threads
///       ─▶ ready descriptors: their handlers ─▶ due timers ─▶ (the owner flushes its writes)
///
/// Descriptors are watched level-triggered: a handler that leaves bytes unread is called again on
/// the next pass, so no readiness is ever lost.
class EventLoop {
 public:
  /// What a watched descriptor calls when it is ready; `events` holds EPOLLIN, EPOLLOUT, EPOLLHUP,
  /// EPOLLERR as epoll reported them.
  class Handler {
   public:
    virtual void on_ready(std::uint32_t events) = 0;

   protected:
    Handler() = default;
    Handler(const Handler&) = default;
    Handler& operator=(const Handler&) = default;
    Handler(Handler&&) = default;
    Handler& operator=(Handler&&) = default;
    ~Handler() = default;
  };
  using Task = std::function<void()>;

  /// Creates the epoll instance and the eventfd that wakes it. Throws std::runtime_error.
  EventLoop();

  /// Starts watching `fd` for `events` (EPOLLIN, EPOLLOUT); `handler` must outlive the watch.
  void watch(int fd, std::uint32_t events, Handler& handler);
  /// Changes the events `fd` is watched for: EPOLLOUT only while a write is waiting.
  void change(int fd, std::uint32_t events, Handler& handler);
  /// Stops watching `fd` (before it is closed).
  void forget(int fd);

  /// Runs `task` on the loop's thread at its next pass. Thread-safe; wakes the loop only when the
  /// queue was empty, so a burst of tasks costs one wake-up.
  void post(Task task);

  /// Calls on_timer(`key`) at `when` or soon after. Timers are never cancelled: the owner checks,
  /// when one fires, whether anything is due, and the key of a connection that has gone simply
  /// finds nothing.
  void wake_at(Deadline when, std::uint64_t key);

  /// One pass: waits until a descriptor is ready, a task is posted, the earliest timer is due, or
  /// `max_wait` passes; then runs the tasks, the ready handlers and the due timers, in that order.
  void wait_and_dispatch(Clock::duration max_wait,
                         const std::function<void(std::uint64_t key)>& on_timer);

 private:
  struct Timer {
    Deadline when;
    std::uint64_t key;
    bool operator>(const Timer& other) const { return when > other.when; }
  };

  void run_tasks();

  Fd epoll_;
  Fd wake_;  // an eventfd: post() writes to it, the loop reads it
  std::mutex tasks_mutex_;
  std::vector<Task> tasks_;  // guarded by tasks_mutex_
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;  // loop thread only
};

}  // namespace ws

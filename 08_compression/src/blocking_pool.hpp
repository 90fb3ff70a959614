// Threads for work that would stall an event loop: a loop thread serves thousands of connections,
// so a call that takes 200 ms there (hashing a password with PBKDF2) delays every one of them by
// 200 ms. Such work goes to this pool, and its result comes back to the loop as a task.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ws {

/// A fixed number of threads taking jobs from a bounded queue, oldest first.
class BlockingPool {
 public:
  using Job = std::function<void()>;

  /// Starts `threads` threads; at most `capacity` jobs may wait for one.
  BlockingPool(std::size_t threads, std::size_t capacity);
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  BlockingPool(BlockingPool&&) = delete;
  BlockingPool& operator=(BlockingPool&&) = delete;
  /// Finishes the jobs already queued, then joins the threads.
  ~BlockingPool();

  /// Queues `job` to run on one of the pool's threads. False, and the job is dropped, when
  /// `capacity` jobs are already waiting: the caller answers "try again" instead of queueing
  /// without bound. Thread-safe.
  bool submit(Job job);

 private:
  void work();

  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;   // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace ws

// The listener: accepts TCP connections and serves each one on its own thread, until stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "options.hpp"
#include "socket.hpp"

namespace ws {

/// A WebSocket server: one listening socket per address family, one thread per connection.
class Server {
 public:
  /// Binds and listens right away, so port() is known before run(). Throws std::runtime_error
  /// with a one-line reason when the address cannot be used (port in use, unknown host).
  explicit Server(Options options);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// The port actually bound (differs from the requested one when that was 0).
  [[nodiscard]] std::uint16_t port() const;

  /// Accepts and serves connections until stop() is called, then waits for every connection
  /// thread to finish before returning.
  void run();

  /// Asks run() and every connection to end. Async-signal-safe: a signal handler may call it.
  void stop() const { stop_.trigger(); }

 private:
  // A connection thread and the flag it raises when it is done, so finished threads are joined
  // while the server runs instead of piling up until shutdown.
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void accept_from(int listener);
  void join_finished_workers();

  Options options_;
  std::vector<Fd> listeners_;
  StopSignal stop_;
  std::vector<Worker> workers_;  // touched only by the thread in run()
  std::uint64_t next_id_ = 1;
};

}  // namespace ws

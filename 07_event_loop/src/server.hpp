// The listener: accepts TCP connections and serves each one on its own thread, until stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "chat_services.hpp"
#include "options.hpp"
#include "socket.hpp"
#include "transport.hpp"

namespace ws {

/// The chat server: one listening socket per address family, one thread per connection, and the
/// services (rooms, users, one-time passwords) they share. With a certificate and key it speaks
/// HTTPS and wss (RFC 6455 §4.1, §10.6) on its port instead of HTTP and ws.
class Server {
 public:
  /// Loads the TLS certificate and key (with --tls-cert and --tls-key) and the users (the demo
  /// users without a users file), binds and listens right away, so port() is known before run().
  /// Without --allow-origin, the allowed origin is the server's own (http://HOST:PORT, or https
  /// with TLS, and its localhost/127.0.0.1 twin on loopback). Throws std::runtime_error with a
  /// one-line reason when the address cannot be used (port in use, unknown host), the users file
  /// is unreadable or malformed, or the certificate or key cannot be used (OpenSSL's reason).
  explicit Server(Options options);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// The port actually bound (differs from the requested one when that was 0).
  [[nodiscard]] std::uint16_t port() const;

  /// "https" with TLS, else "http": the scheme of the URLs this server answers.
  [[nodiscard]] const char* scheme() const { return tls_ ? "https" : "http"; }

  /// The options in force, with the allowed origins filled in.
  [[nodiscard]] const Options& options() const { return options_; }

  /// True when the built-in demo users are active.
  [[nodiscard]] bool demo_users() const { return services_.users.is_demo(); }

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
  std::optional<TlsContext> tls_;  // loaded before listening: a bad key never opens the port
  std::vector<Fd> listeners_;
  ChatServices services_;
  StopSignal stop_;
  std::vector<Worker> workers_;  // touched only by the thread in run()
  std::uint64_t next_id_ = 1;
};

}  // namespace ws

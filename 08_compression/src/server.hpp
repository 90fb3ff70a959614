// The listener: accepts TCP connections and hands them to the event loops, one per core, until
// stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "blocking_pool.hpp"
#include "chat_services.hpp"
#include "event_loop.hpp"
#include "options.hpp"
#include "socket.hpp"
#include "transport.hpp"
#include "worker.hpp"

namespace ws {

/// Threads for the work that must not run on a loop (hashing a login's password: PBKDF2 takes
/// about 0.2 s of one core), and how many such jobs may wait before logins get 503.
inline constexpr std::size_t kBlockingThreads = 2;
inline constexpr std::size_t kBlockingQueue = 64;

/// The chat server: one listening socket per address family, --threads event loops (workers)
/// that share the connections out, and the services (rooms, users, one-time passwords) they
/// share. With a certificate and key it speaks
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

  /// Serves connections until stop() is called: the calling thread runs the first event loop,
  /// which also accepts; the others get threads of their own. Returns once every connection has
  /// ended (WebSockets after their 1001 close handshake).
  void run();

  /// Asks run() and every connection to end. Async-signal-safe: a signal handler may call it.
  void stop() const { stop_.trigger(); }

 private:
  // Watches the listening sockets and the stop signal, on the first worker's loop.
  class Acceptor final : public EventLoop::Handler {
   public:
    Acceptor(Server& server, int fd) : server_(server), fd_(fd) {}
    void on_ready(std::uint32_t /*events*/) override { server_.on_acceptor_ready(fd_); }

   private:
    Server& server_;
    int fd_;
  };

  void on_acceptor_ready(int fd);
  void accept_from(int listener);
  void refuse_busy(Fd client, std::uint64_t id) const;
  void accept_without_descriptors(int listener);

  Options options_;
  std::optional<TlsContext> tls_;  // loaded before listening: a bad key never opens the port
  std::vector<Fd> listeners_;
  ChatServices services_;
  StopSignal stop_;
  std::atomic<std::size_t> open_{0};  // connections accepted and not yet ended, on every worker
  std::vector<std::unique_ptr<Worker>> workers_;
  // Declared after the workers, so destroyed before them: its last jobs still post to them.
  BlockingPool blocking_{kBlockingThreads, kBlockingQueue};
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::uint64_t next_id_ = 1;
  std::size_t next_worker_ = 0;
  Fd spare_;  // a descriptor held in reserve for when the process runs out (EMFILE)
};

}  // namespace ws

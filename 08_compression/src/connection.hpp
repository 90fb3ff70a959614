// One connection on an event loop: its socket (plain or TLS), the bytes received and not yet
// used, the frames waiting to be sent, and its one timer. The protocol lives in the session it
// runs: first the HTTP side (http_session.hpp), then, after an upgrade, the WebSocket side
// (websocket_session.hpp). The connection does the I/O those sessions used to do by blocking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "egress.hpp"
#include "event_loop.hpp"
#include "socket.hpp"
#include "transport.hpp"

namespace ws {

class Worker;

/// What a connection runs: it is told what happened and answers through the Connection.
class Session {
 public:
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;
  virtual ~Session() = default;

  /// New bytes are at the end of the connection's inbox().
  virtual void on_input() = 0;
  /// The peer closed TCP (kEof) or the socket failed (kError, errno set) before the session ended.
  virtual void on_end(TryStatus status) = 0;
  /// The connection's timer fired: do what is due at `now`, if anything.
  virtual void on_timer(Clock::time_point now) = 0;
  /// The server is shutting down.
  virtual void on_stop() = 0;
  /// A message another connection sent to this one (a broadcast).
  virtual void on_frame(const Broadcast& broadcast) = 0;
  /// Queued bytes have made no progress for write_patience(): the peer stopped reading.
  virtual void on_write_stalled() = 0;
  /// The next moment on_timer() must be called; kNoDeadline when nothing is pending.
  [[nodiscard]] virtual Deadline next_wakeup() const = 0;
  /// The socket's full buffer had room again and took queued bytes: the peer is reading, so it
  /// is alive.
  virtual void on_written() {}
  /// How long queued bytes may wait for the socket before the peer counts as gone.
  [[nodiscard]] virtual Clock::duration write_patience() const = 0;
};

/// An accepted connection, owned by its Worker and driven by its event loop.
class Connection final : public EventLoop::Handler {
 public:
  /// `egress_limit`: the bytes that may wait for the socket (egress.hpp).
  Connection(Transport transport, std::uint64_t id, Worker& worker, std::size_t egress_limit);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;
  ~Connection();

  /// Runs `session` from now on (the first one, or the WebSocket after an upgrade).
  void run(std::unique_ptr<Session> session);

  // --- for the event loop and the worker ---
  void on_ready(std::uint32_t events) override;
  void on_timer();
  void on_stop();
  void on_frame(const Broadcast& broadcast);
  /// Work done off the loop has come back to the session: its timer may have changed.
  void resumed();
  /// Writes what is queued, as much as the socket takes (the loop calls this once per pass for
  /// every connection that queued something: all its frames go out in one system call).
  void flush();
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] std::uint64_t id() const { return id_; }

  // --- for the sessions ---
  [[nodiscard]] Worker& worker() const { return worker_; }
  [[nodiscard]] Transport& transport() { return transport_; }
  /// The TLS handshake is over (at once for plain TCP): the inbox holds plaintext.
  [[nodiscard]] bool secure_channel_ready() const { return tls_ready_; }
  /// Bytes received and not yet used; a session erases what it has used.
  std::string& inbox() { return inbox_; }
  /// Queues this connection's own bytes for the socket: a response, a reply, a pong, a ping, an
  /// echo, a close. Never refused: instead, while more than kReadPauseBytes wait, the connection
  /// stops reading, so a peer that sends without reading its answers is held back by TCP.
  void send(SharedFrame frame);
  void send(std::string bytes) { send(std::make_shared<const std::string>(std::move(bytes))); }
  /// Offers a frame that another connection produced (a broadcast). False when the egress queue
  /// is over its limit: the peer reads more slowly than its room talks (the frame is not queued).
  bool offer(SharedFrame frame);
  /// Queues a frame whatever the limit, after dropping every frame not yet started: the close
  /// frame that tells a slow consumer why it goes.
  void send_instead_of_backlog(SharedFrame frame);
  /// Once everything queued is written, send a FIN (plain TCP; see Transport::shutdown_write).
  void shutdown_write_after_flush();
  /// Once everything queued is written (or writing failed), close the connection.
  void end_after_flush();
  /// Closes the connection now.
  void end();
  /// Logs `#id text`.
  void log(const std::string& text) const;

 private:
  void read_input();
  void rearm();
  void watch_for(bool write);
  [[nodiscard]] bool reading_paused() const;
  bool flush_once();

  Transport transport_;
  std::uint64_t id_;
  Worker& worker_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Session> retired_;  // the session an upgrade replaced, until it has returned
  std::string inbox_;
  EgressQueue egress_;
  Deadline armed_ = kNoDeadline;  // the earliest timer this connection has in the loop
  Deadline write_progress_{};     // the last time the socket took queued bytes
  std::uint32_t watched_ = 0;     // the epoll events asked for now
  bool registered_ = false;       // watched by the loop's epoll at all
  bool tls_ready_ = false;
  bool input_closed_ = false;  // the peer closed its side (or the socket failed)
  bool dirty_ = false;         // queued bytes since the last flush: in the worker's list
  bool shutdown_after_flush_ = false;
  bool end_after_flush_ = false;
  bool finished_ = false;
  friend class Worker;
};

}  // namespace ws

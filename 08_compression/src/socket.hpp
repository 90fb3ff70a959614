// TCP plumbing: an owning file descriptor, listening sockets, and reads and writes that respect a
// deadline and a server-wide stop signal, so no thread ever blocks forever on a silent peer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

/// Owns one file descriptor and closes it exactly once (RAII). Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  /// Gives up ownership and returns the descriptor.
  int release();

 private:
  int fd_ = -1;
};

using Clock = std::chrono::steady_clock;
/// A point in time after which an operation gives up. `kNoDeadline` waits forever.
using Deadline = Clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

/// A one-shot, level-triggered "stop now" flag that threads can poll() on together with their
/// socket. `trigger()` is async-signal-safe, so a SIGTERM handler may call it.
class StopSignal {
 public:
  StopSignal();
  /// Sets the flag; every current and future wait on `fd()` wakes up.
  void trigger() const;
  [[nodiscard]] bool triggered() const;
  [[nodiscard]] int fd() const { return event_.get(); }

 private:
  Fd event_;
};

/// The outcome of a read or write on a socket.
enum class IoStatus {
  kOk,       ///< some bytes were transferred
  kEof,      ///< the peer closed its side (read returned 0)
  kTimeout,  ///< the deadline passed first
  kStopped,  ///< the server is shutting down
  kWoken,    ///< another thread has something for us (see read_some's wake_fd)
  kError,    ///< the socket failed (reset by peer, ...); errno tells why
};

/// What a non-blocking read or write did: an event loop never waits inside a system call, it
/// asks the kernel for what is possible now and waits in epoll for the rest.
enum class TryStatus {
  kOk,     ///< some bytes were transferred
  kAgain,  ///< nothing possible now (EAGAIN): wait for the socket to be ready
  kEof,    ///< the peer closed its side (read returned 0)
  kError,  ///< the socket failed (reset by peer, ...); errno tells why
};

/// Binds and listens on every address `host` resolves to (e.g. both 127.0.0.1 and ::1 for
/// "localhost"), all on the same port; port 0 picks a free one. Addresses of a family the machine
/// lacks are skipped as long as one succeeds. Returns the sockets (non-empty) or throws
/// std::runtime_error with a one-line reason ("127.0.0.1:1337: Address already in use").
std::vector<Fd> listen_tcp(const std::string& host, std::uint16_t port);

/// The text for an errno value, like strerror() but safe to call from several threads.
std::string error_text(int error);

/// The local port a bound socket got (useful after binding port 0).
std::uint16_t local_port(int fd);

/// "address:port" of the socket's peer, with IPv6 addresses in brackets.
std::string peer_address(int fd);

/// Reads whatever is available (at most `out.size()` bytes), waiting until data arrives, the
/// deadline passes, `stop_fd` (a StopSignal's fd, or -1 for none) becomes readable (kStopped), or
/// `wake_fd` (an eventfd another thread writes to, or -1) becomes readable (kWoken).
/// On kOk, `received` holds the count (> 0).
IoStatus read_some(int fd, std::span<char> out, std::size_t& received, Deadline deadline,
                   int stop_fd, int wake_fd = -1);

/// Writes all of `data`, waiting while the kernel's send buffer is full, but not past `deadline`
/// (kTimeout: a peer that stopped reading). Never raises SIGPIPE: a vanished peer is kError.
IoStatus write_all(int fd, std::string_view data, Deadline deadline = kNoDeadline);

/// Writes all of `first` then all of `second`, gathered into as few system calls as the kernel
/// allows (sendmsg with two buffers), so a frame header and its payload need not be copied
/// together first. Same deadline and error rules as the one-buffer write_all.
IoStatus write_all(int fd, std::string_view first, std::string_view second,
                   Deadline deadline = kNoDeadline);

/// Writes every buffer of `parts` in order, up to 64 per system call (sendmsg), e.g. a batch of
/// queued frames. Same deadline and error rules as the one-buffer write_all.
IoStatus write_all(int fd, std::span<const std::string_view> parts,
                   Deadline deadline = kNoDeadline);

/// Puts `fd` in non-blocking mode: reads and writes return EAGAIN instead of waiting.
void set_nonblocking(int fd);

/// Reads whatever is available now, at most `out.size()` bytes, without waiting. On kOk,
/// `received` holds the count (> 0).
TryStatus try_read(int fd, std::span<char> out, std::size_t& received);

/// Writes as much of `parts` (in order, up to 64 buffers) as the kernel takes now, without
/// waiting: `written` may stop in the middle of a buffer. Never raises SIGPIPE.
TryStatus try_write(int fd, std::span<const std::string_view> parts, std::size_t& written);

}  // namespace ws

// TCP plumbing: owning descriptors, listening sockets, deadline- and stop-aware I/O.
#include "socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ws {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

StopSignal::StopSignal() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_.valid()) {
    throw std::runtime_error(std::string("eventfd: ") + error_text(errno));
  }
}

void StopSignal::trigger() const {
  // write() is async-signal-safe; the counter stays non-zero because nobody reads it, so the
  // eventfd remains readable for every poll() from now on.
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(event_.get(), &one, sizeof one);
}

bool StopSignal::triggered() const {
  pollfd p{event_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

namespace {

std::string describe_address(const sockaddr* address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
  ::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(ntohs(v4->sin_port));
}

void set_port(sockaddr* address, std::uint16_t port) {
  if (address->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(port);
  }
}

int milliseconds_until(Deadline deadline) {
  if (deadline == kNoDeadline) {
    return -1;  // poll() waits forever
  }
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  // Round up so a deadline 0.4 ms away does not spin on poll(..., 0).
  return static_cast<int>(std::min<long long>(left + 1, 24LL * 60 * 60 * 1000));
}

}  // namespace

std::string error_text(int error) {
  std::array<char, 256> buffer{};
  // The GNU strerror_r returns a pointer to the text, which may or may not be `buffer`.
  return ::strerror_r(error, buffer.data(), buffer.size());
}

std::vector<Fd> listen_tcp(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    throw std::runtime_error(host + ": " + ::gai_strerror(rc));
  }

  std::vector<Fd> sockets;
  std::string first_error;
  std::uint16_t bound_port = port;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      continue;
    }
    // SO_REUSEADDR lets a restarted server bind at once, while old connections of the previous
    // run sit in TIME_WAIT; it does not let two live servers share the port.
    const int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ai->ai_family == AF_INET6) {
      // One socket per family: "::1" must not also claim IPv4, "localhost" binds both explicitly.
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    // With port 0 the first bind picks a free port; the other families must use the same one.
    set_port(ai->ai_addr, bound_port);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
      if (first_error.empty()) {
        first_error = describe_address(ai->ai_addr) + ": " + error_text(errno);
      }
      continue;
    }
    bound_port = local_port(fd.get());
    sockets.push_back(std::move(fd));
  }
  ::freeaddrinfo(found);
  if (sockets.empty()) {
    throw std::runtime_error(first_error.empty() ? host + ": no usable address" : first_error);
  }
  return sockets;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

std::string peer_address(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    return "unknown";
  }
  return describe_address(reinterpret_cast<const sockaddr*>(&address));
}

IoStatus read_some(int fd, std::span<char> out, std::size_t& received, Deadline deadline,
                   int stop_fd, int wake_fd) {
  received = 0;
  while (true) {
    // poll() ignores entries with a negative fd, so stop_fd == -1 simply never fires.
    std::array<pollfd, 3> fds{{{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), milliseconds_until(deadline));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoStatus::kError;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      return IoStatus::kStopped;
    }
    if ((fds[2].revents & POLLIN) != 0) {
      return IoStatus::kWoken;
    }
    if (ready == 0) {
      return IoStatus::kTimeout;
    }
    const ssize_t n = ::recv(fd, out.data(), out.size(), 0);
    if (n > 0) {
      received = static_cast<std::size_t>(n);
      return IoStatus::kOk;
    }
    if (n == 0) {
      return IoStatus::kEof;
    }
    if (errno != EINTR && errno != EAGAIN) {
      return IoStatus::kError;
    }
  }
}

namespace {

// Waits until `fd` can take more bytes, or the deadline passes.
IoStatus wait_writable(int fd, Deadline deadline) {
  while (true) {
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, milliseconds_until(deadline));
    if (ready > 0) {
      return IoStatus::kOk;
    }
    if (ready == 0) {
      return IoStatus::kTimeout;
    }
    if (errno != EINTR) {
      return IoStatus::kError;
    }
  }
}

}  // namespace

IoStatus write_all(int fd, std::string_view data, Deadline deadline) {
  return write_all(fd, data, {}, deadline);
}

IoStatus write_all(int fd, std::string_view first, std::string_view second, Deadline deadline) {
  const std::array<std::string_view, 2> parts{first, second};
  return write_all(fd, parts, deadline);
}

IoStatus write_all(int fd, std::span<const std::string_view> parts, Deadline deadline) {
  constexpr std::size_t kMaxParts = 64;
  std::vector<std::string_view> left(parts.begin(), parts.end());
  std::size_t next = 0;  // left[next..] is still to be written
  while (next < left.size()) {
    std::array<iovec, kMaxParts> vectors{};
    std::size_t count = 0;
    for (std::size_t i = next; i < left.size() && count < kMaxParts; ++i) {
      vectors.at(count++) = {const_cast<char*>(left[i].data()), left[i].size()};
    }
    msghdr message{};
    message.msg_iov = vectors.data();
    message.msg_iovlen = count;
    // MSG_NOSIGNAL: writing to a peer that has gone must be an error we handle, not a SIGPIPE
    // that kills the whole server. MSG_DONTWAIT: when the peer's window and our send buffer
    // are full, wait in poll() with the deadline instead of blocking in send() without one.
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (const IoStatus status = wait_writable(fd, deadline); status != IoStatus::kOk) {
          return status;
        }
        continue;
      }
      return IoStatus::kError;
    }
    auto sent = static_cast<std::size_t>(n);
    while (next < left.size() && sent >= left[next].size()) {
      sent -= left[next].size();
      ++next;
    }
    if (next < left.size()) {
      left[next].remove_prefix(sent);
    }
  }
  return IoStatus::kOk;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) {
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

TryStatus try_read(int fd, std::span<char> out, std::size_t& received) {
  received = 0;
  while (true) {
    const ssize_t n = ::recv(fd, out.data(), out.size(), MSG_DONTWAIT);
    if (n > 0) {
      received = static_cast<std::size_t>(n);
      return TryStatus::kOk;
    }
    if (n == 0) {
      return TryStatus::kEof;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return TryStatus::kAgain;
    }
    if (errno != EINTR) {
      return TryStatus::kError;
    }
  }
}

TryStatus try_write(int fd, std::span<const std::string_view> parts, std::size_t& written) {
  constexpr std::size_t kMaxParts = 64;
  std::array<iovec, kMaxParts> vectors{};
  std::size_t count = 0;
  for (const std::string_view part : parts) {
    if (count == kMaxParts) {
      break;
    }
    vectors.at(count++) = {const_cast<char*>(part.data()), part.size()};
  }
  msghdr message{};
  message.msg_iov = vectors.data();
  message.msg_iovlen = count;
  written = 0;
  while (true) {
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      written = static_cast<std::size_t>(n);
      return TryStatus::kOk;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return TryStatus::kAgain;
    }
    if (errno != EINTR) {
      return TryStatus::kError;
    }
  }
}

}  // namespace ws

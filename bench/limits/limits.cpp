// What this machine allows, measured in the same run as the servers so each figure of
// docs/performance.md can be read against it: memcpy bandwidth, and TCP on loopback between two
// processes (throughput with 1 MiB writes, round trip of 32 bytes).
// Usage: limits [--seconds S]   (prints one line per figure, then one line of JSON)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Bytes copied per second by memcpy between two buffers of `size` bytes, for about `seconds`.
double memcpy_rate(std::size_t size, double seconds) {
  std::vector<char> from(size, 'a');
  std::vector<char> to(size, 'b');
  std::size_t copied = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 8; ++i) {
      std::memcpy(to.data(), from.data(), size);
      from[copied % size] = to[(copied + 1) % size];  // keeps the copies from being elided
      copied += size;
    }
  } while (seconds_since(start) < seconds);
  return static_cast<double>(copied) / seconds_since(start);
}

int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("listen: " + std::generic_category().message(errno));
  }
  port = ntohs(address.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("connect: " + std::generic_category().message(errno));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Keeps the calling process on CPU `cpu`; a negative `cpu` leaves it free to move.
void pin_to(int cpu) {
  if (cpu < 0) {
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(cpu), &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

/// Lets the calling process run on every CPU again.
void unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (long cpu = 0; cpu < ::sysconf(_SC_NPROCESSORS_ONLN) && cpu < CPU_SETSIZE; ++cpu) {
    CPU_SET(static_cast<unsigned>(cpu), &set);
  }
  ::sched_setaffinity(0, sizeof set, &set);
}

/// Runs `child(fd)` in a forked process connected to us over loopback and `parent(fd)` here,
/// each pinned to its CPU when one is given.
template <typename Parent, typename Child>
void two_processes(Parent parent, Child child, int parent_cpu = -1, int child_cpu = -1) {
  std::uint16_t port = 0;
  const int listener = listen_loopback(port);
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    pin_to(child_cpu);
    ::close(listener);
    const int fd = connect_loopback(port);
    child(fd);
    ::close(fd);
    std::_Exit(0);
  }
  pin_to(parent_cpu);
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  parent(fd);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  unpin();
}

/// Bytes per second one process receives from another writing 1 MiB at a time.
double loopback_throughput(double seconds) {
  constexpr std::size_t kChunk = std::size_t{1024} * 1024;
  double rate = 0;
  two_processes(
      [&](int fd) {
        std::vector<char> buffer(kChunk);
        std::size_t received = 0;
        const auto start = Clock::now();
        ssize_t n = 0;
        while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
          received += static_cast<std::size_t>(n);
        }
        rate = static_cast<double>(received) / seconds_since(start);
      },
      [&](int fd) {
        const std::vector<char> buffer(kChunk, 'x');
        const auto start = Clock::now();
        while (seconds_since(start) < seconds && write_all(fd, buffer.data(), buffer.size())) {
        }
      });
  return rate;
}

/// Round trips of 32 bytes between two processes: the median and 99th percentile, in µs. The
/// processes run on the CPUs given (both on one, or one each), or wherever the scheduler puts them.
std::pair<double, double> loopback_round_trip(double seconds, int parent_cpu, int child_cpu) {
  constexpr std::size_t kSize = 32;
  std::vector<double> samples;
  two_processes(
      [&](int fd) {
        std::vector<char> message(kSize, 'p');
        const auto start = Clock::now();
        while (seconds_since(start) < seconds && samples.size() < 10'000'000) {
          const auto sent = Clock::now();
          if (!write_all(fd, message.data(), kSize) || !read_all(fd, message.data(), kSize)) {
            break;
          }
          samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
        }
        ::shutdown(fd, SHUT_WR);
      },
      [&](int fd) {
        std::vector<char> message(kSize);
        while (read_all(fd, message.data(), kSize) && write_all(fd, message.data(), kSize)) {
        }
      },
      parent_cpu, child_cpu);
  if (samples.empty()) {
    return {0, 0};
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      seconds = std::clamp(std::atof(argv[i + 1]), 0.1, 30.0);
    }
  }
  try {
    const double copy_large = memcpy_rate(std::size_t{64} * 1024 * 1024, seconds);
    const double copy_1m = memcpy_rate(std::size_t{1024} * 1024, seconds);
    const double tcp = loopback_throughput(seconds);
    const auto [rtt_p50, rtt_p99] = loopback_round_trip(seconds, -1, -1);
    const auto [same_p50, same_p99] = loopback_round_trip(seconds, 0, 0);
    const bool two_cpus = ::sysconf(_SC_NPROCESSORS_ONLN) > 1;
    const auto [cross_p50, cross_p99] =
        two_cpus ? loopback_round_trip(seconds, 0, 1) : std::pair<double, double>{0, 0};
    std::printf("memcpy 64 MiB buffers: %.0f MB/s\n", copy_large / 1e6);
    std::printf("memcpy 1 MiB buffers: %.0f MB/s\n", copy_1m / 1e6);
    std::printf("loopback TCP, 1 MiB writes, two processes: %.0f MB/s\n", tcp / 1e6);
    std::printf("loopback TCP round trip, 32 B, two processes: p50 %.1f us, p99 %.1f us\n", rtt_p50,
                rtt_p99);
    std::printf("  both on one CPU: p50 %.1f us, p99 %.1f us\n", same_p50, same_p99);
    std::printf("  one on each CPU: p50 %.1f us, p99 %.1f us\n", cross_p50, cross_p99);
    std::printf(
        "{\"memcpy_64m_mb_s\":%.0f,\"memcpy_1m_mb_s\":%.0f,\"tcp_mb_s\":%.0f,"
        "\"rtt_p50_us\":%.2f,\"rtt_p99_us\":%.2f,\"rtt_same_cpu_p50_us\":%.2f,"
        "\"rtt_same_cpu_p99_us\":%.2f,\"rtt_cross_cpu_p50_us\":%.2f,\"rtt_cross_cpu_p99_us\":%.2f}"
        "\n",
        copy_large / 1e6, copy_1m / 1e6, tcp / 1e6, rtt_p50, rtt_p99, same_p50, same_p99, cross_p50,
        cross_p99);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "limits: %s\n", e.what());
    return 2;
  }
  return 0;
}

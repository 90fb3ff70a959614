// Resource limits: the address-space cap that left a thread-per-connection server unable to
// serve 40 connections costs an event loop nothing, and running out of file descriptors is
// survived without spinning.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

// The sanitizers reserve terabytes of address space up front, so an address-space cap means
// nothing for them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

/// The virtual size of process `pid` in bytes (VmSize in /proc/PID/status).
std::uint64_t virtual_size(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string field;
  while (status >> field) {
    if (field == "VmSize:") {
      std::uint64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
  }
  throw std::runtime_error("no VmSize for pid " + std::to_string(pid));
}

// A thread per connection ran out of stacks under this cap before 40 connections (each thread
// reserves 8 MiB of address space). Event loops start no thread per connection: the same cap
// serves all 40 and everyone after them.
TEST(ServerUnderThreadLimit, ServesEveryConnectionWithoutAThreadEach) {
  if (kSanitized) {
    GTEST_SKIP() << "an address-space cap does not work under the sanitizers";
  }
  ServerProcess server;
  const rlim_t cap = virtual_size(server.pid()) + rlim_t{64} * 1024 * 1024;
  const rlimit limit{cap, cap};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_AS, &limit, nullptr), 0)
      << std::generic_category().message(errno);

  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<RawClient>(server.port()));
    idle.back()->send("GET / HTTP/1.1\r\n");  // never the blank line: each stays open
  }
  EXPECT_TRUE(server.wait_for_line("#40 connected from ", 5s)) << "all 40 are being served";
  RawClient page(server.port());
  page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(page.read_http_response(5s).rfind("HTTP/1.1 200 ", 0), 0U)
      << "and one more is answered while they wait";
  EXPECT_FALSE(server.wait_for_line("server: ", 0ms));
  idle.clear();
  EXPECT_EQ(server.stop(), 0);
}

// The user and system CPU time process `pid` has used, in clock ticks (/proc/PID/stat).
std::uint64_t cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::stoull(field);
    } else if (i == 15) {
      stime = std::stoull(field);
    }
  }
  return utime + stime;
}

// Out of descriptors, accept() fails with EMFILE while the connection stays queued, so a
// level-triggered listener stays readable: a naive loop would spin at 100 % CPU. The server
// gives up its reserve descriptor to accept and close such a connection, and serves again as
// soon as descriptors are free.
TEST(ServerOutOfDescriptors, RefusesWithoutSpinningAndRecovers) {
  if (kSanitized) {
    // Their runtimes need descriptors of their own: UBSan, for one, checks that an object's
    // vtable is readable by writing it into a pipe, and when pipe() fails it reports a valid
    // object as invalid. A process with no descriptor left fails inside the sanitizer.
    GTEST_SKIP() << "the sanitizers' runtimes need free descriptors";
  }
  ServerProcess server;
  auto first = std::make_unique<RawClient>(server.port());  // holds one server descriptor
  first->send("GET / HTTP/1.1\r\n");
  ASSERT_TRUE(server.wait_for_line("#1 connected from ", 5s));
  // The limit caps descriptor numbers, not their count, and a new descriptor takes the lowest
  // free number: a limit at that number leaves no room for one more, even where numbers below
  // the highest are free.
  std::vector<rlim_t> open_now;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(server.pid()) + "/fd")) {
    open_now.push_back(std::stoul(entry.path().filename().string()));
  }
  std::sort(open_now.begin(), open_now.end());
  rlim_t lowest_free = 0;
  while (std::binary_search(open_now.begin(), open_now.end(), lowest_free)) {
    ++lowest_free;
  }
  rlimit original{};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &original), 0);
  const rlimit limit{lowest_free, original.rlim_max};  // not one descriptor more
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &limit, nullptr), 0)
      << std::generic_category().message(errno);

  std::vector<std::unique_ptr<RawClient>> refused;
  refused.reserve(5);
  for (int i = 0; i < 5; ++i) {
    refused.push_back(std::make_unique<RawClient>(server.port()));  // queued by the kernel
  }
  ASSERT_TRUE(server.wait_for_line("accept failed: Too many open files", 5s));
  const std::uint64_t before = cpu_ticks(server.pid());
  std::this_thread::sleep_for(1s);
  const std::uint64_t used = cpu_ticks(server.pid()) - before;
  EXPECT_LT(used, 20U) << "CPU ticks in one second out of descriptors: the listener spins";

  first.reset();
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &original, nullptr), 0);
  RawClient page(server.port());
  page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(page.read_http_response(5s).rfind("HTTP/1.1 200 ", 0), 0U)
      << "served again once descriptors are free";
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ws_test

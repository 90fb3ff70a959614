// Regression test: a server that cannot start a thread for a connection refuses that one
// connection and keeps serving (found by the hostile-client suite, docs/security.md).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <memory>
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

// A thread per connection means that a connection the server cannot start a thread for is the
// first thing to fail when threads run out (a systemd TasksMax, a container's pids limit,
// RLIMIT_NPROC for a service user, or address space for the stacks). That connection must be
// refused; the server, and everybody already connected, must carry on.
TEST(ServerUnderThreadLimit, RefusesWhatItCannotServeAndKeepsRunning) {
  if (kSanitized) {
    GTEST_SKIP() << "an address-space cap does not work under the sanitizers";
  }
  ServerProcess server;
  // Room for the server as it is now plus a few 8 MiB thread stacks, fewer than the
  // connections below need.
  const rlim_t cap = virtual_size(server.pid()) + rlim_t{64} * 1024 * 1024;
  const rlimit limit{cap, cap};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_AS, &limit, nullptr), 0)
      << std::generic_category().message(errno);

  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i) {
    try {
      idle.push_back(std::make_unique<RawClient>(server.port()));
      idle.back()->send("GET / HTTP/1.1\r\n");  // never the blank line: each holds its thread
    } catch (const std::runtime_error&) {
      // Refusing a connection (closing it, or a 503) is the right answer once threads run out.
    }
  }
  std::this_thread::sleep_for(500ms);
  const auto lines = server.lines();
  const auto started = std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find(" connected from ") != std::string::npos;
  });
  EXPECT_LT(started, 40) << "the cap did not bite: this test proves nothing";
  EXPECT_FALSE(server.wait_for_line("server: ", 0ms))
      << "the server exited when it could not start a thread: "
      << server.wait_for_line("server: ", 0ms).value_or("");
  idle.clear();

  // Once the idle connections are gone, the server serves again.
  bool served = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    try {
      RawClient page(server.port());
      page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      served = page.read_http_response(2s).rfind("HTTP/1.1 200 ", 0) == 0;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_TRUE(served) << "the page is served again once the idle connections are gone";
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ws_test

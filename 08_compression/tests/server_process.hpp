// Test helper: runs the stage's real server program as a child process on a free port and
// collects what it prints, so integration tests talk to exactly what a learner runs; and runs
// other programs (openssl, Python clients, `server --add-user`) to completion.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ws_test {

using namespace std::chrono_literals;

/// A running server. Starts it with `--port 0` plus `args` and waits for its
/// `listening on http://...` (or `https://...`) line. Stops it (SIGTERM, then SIGKILL) when
/// destroyed.
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args = {});
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// Waits for an output line containing `text` (lines already printed count). Returns the
  /// line, or nullopt after `timeout`.
  std::optional<std::string> wait_for_line(std::string_view text,
                                           std::chrono::milliseconds timeout = 5s);
  /// Every line printed so far (stdout and stderr).
  std::vector<std::string> lines();
  /// Sends `signal`, waits up to `timeout` for the process to exit and returns its exit code
  /// (128 + n if killed by signal n), or -1 if it had to be killed with SIGKILL.
  int stop(int signal = SIGTERM, std::chrono::milliseconds timeout = 10s);

  /// Runs the server to completion with `args` (no --port added) and returns its exit code and
  /// everything it printed, for testing startup errors. Kills it after `timeout`.
  static std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args,
                                                 std::chrono::milliseconds timeout = 5s);

 private:
  void read_output(int fd);

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool exited_ = false;
  int exit_code_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

/// What a program run to completion did.
struct ProgramResult {
  int code = -1;  ///< its exit code, 128 + n if killed by signal n, -1 if killed after the timeout
  std::string output;  ///< everything it printed, stdout and stderr together
};

/// Runs `args` (args[0] is the program's path) with `input` (at most 4 KiB) on its stdin, waits
/// up to `timeout` for it to exit, killing it then, and returns its exit code and output. Throws
/// if it cannot be started.
ProgramResult run_program(const std::vector<std::string>& args, const std::string& input = {},
                          std::chrono::milliseconds timeout = 10s);

}  // namespace ws_test

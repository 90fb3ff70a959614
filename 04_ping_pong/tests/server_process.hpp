// Test helpers: a program started as a child process (the stage's server, the CLI client, a
// third-party peer) with bounded waits, and the stage's real server run on a free port with what
// it prints collected, so integration tests talk to exactly what a learner runs.
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
#include <utility>
#include <vector>

namespace ws_test {

using namespace std::chrono_literals;

/// A program started with posix_spawn, its stdin, stdout and stderr on pipes (stdout and stderr
/// on one pipe with kMerged). The child gets SIGPIPE's default action back, whatever the test
/// set. Every wait is bounded; a child still running when the object is destroyed is killed.
class ChildProcess {
 public:
  enum class Output { kSeparate, kMerged };

  /// Starts `argv[0]` with `argv`. Throws std::runtime_error if it cannot be started.
  ChildProcess(std::vector<std::string> argv, Output output);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const { return pid_; }
  /// The write end of the child's stdin, or -1 once closed.
  [[nodiscard]] int stdin_fd() const { return stdin_; }
  /// The read ends of its stdout (with kMerged, stderr too) and of its stderr (-1 with kMerged).
  /// They stay open until the object is destroyed; the child closing them reads as end of file.
  [[nodiscard]] int stdout_fd() const { return stdout_; }
  [[nodiscard]] int stderr_fd() const { return stderr_; }
  /// Closes the child's stdin: it reads end of file.
  void close_stdin();

  /// Waits up to `timeout` for the child to exit. Returns its exit code (128 + n if killed by
  /// signal n), or nullopt if it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Sends `signal`, waits up to `timeout` for the child to exit and returns its exit code, or -1
  /// if it had to be killed with SIGKILL. Once the child has exited, returns the same again.
  int stop(int signal = SIGTERM, std::chrono::milliseconds timeout = 10s);

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  std::optional<int> exit_code_;
};

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
  [[nodiscard]] pid_t pid() const { return child_.pid(); }

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
  /// everything it printed, for testing startup errors. Kills it after `timeout` (code -1).
  static std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args,
                                                 std::chrono::milliseconds timeout = 5s);

 private:
  void read_output();

  ChildProcess child_;
  std::uint16_t port_ = 0;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

}  // namespace ws_test

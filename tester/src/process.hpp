// The server under test as a child process, for --server: started from the learner's command on a
// free port, watched (its output is kept, so cases can check what it prints), and stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tester {

using namespace std::chrono_literals;

/// A running server. The constructor replaces every `{port}` in `command` with a free loopback
/// port, runs it with /bin/sh, and waits until that port accepts connections. Throws
/// std::runtime_error, with what the program printed, when it exits or does not listen within
/// `startup`. The destructor stops it (SIGTERM, then SIGKILL).
class ServerProcess {
 public:
  ServerProcess(std::string command, std::chrono::milliseconds startup);
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& command() const { return command_; }

  /// Waits for an output line (stdout or stderr) containing `text`; lines already printed count.
  /// Returns the line, or nullopt after `timeout`.
  std::optional<std::string> wait_for_line(std::string_view text,
                                           std::chrono::milliseconds timeout);
  /// The last `count` lines printed, oldest first.
  std::vector<std::string> last_lines(std::size_t count);

  /// Returns the exit code if the process has ended (128 + n when killed by signal n).
  std::optional<int> exited();
  /// Sends `signal` without waiting (a case that watches what the server does next).
  void signal(int signal) const;
  /// Waits up to `timeout` for the process to end; returns its exit code, or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Sends `signal` and waits up to `timeout` for the exit; then SIGKILL. Returns the exit code,
  /// or -1 when SIGKILL was needed.
  int stop(int signal, std::chrono::milliseconds timeout);

 private:
  void read_output(int fd);

  std::string command_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> exit_code_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

}  // namespace tester

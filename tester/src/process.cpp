// The server under test as a child process: a free port, /bin/sh, its output on a pipe.
#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <stdexcept>

namespace tester {
namespace {

// Asks the kernel for a free port on 127.0.0.1. Another program could take it before the server
// binds it; on loopback, in a test run, that race is too rare to design around.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error("socket() failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  ::close(fd);
  if (!ok) {
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  return ntohs(address.sin_port);
}

// True when something accepts TCP connections on 127.0.0.1:port.
bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

ServerProcess::ServerProcess(std::string command, std::chrono::milliseconds startup) {
  port_ = free_port();
  command_ = replace_all(std::move(command), "{port}", std::to_string(port_));
  // "exec" makes the shell become the server, so our signals reach the server itself.
  std::string script = "exec " + command_;
  std::array<char*, 4> argv{const_cast<char*>("/bin/sh"),  // NOLINT: posix_spawn's signature
                            const_cast<char*>("-c"),       // NOLINT
                            script.data(), nullptr};
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot run /bin/sh");
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });

  const auto deadline = std::chrono::steady_clock::now() + startup;
  while (!accepts_connections(port_)) {
    if (const auto code = exited()) {
      std::string said;
      for (const auto& line : last_lines(5)) {
        said += "\n  | " + line;
      }
      if (reader_.joinable()) {
        reader_.join();
      }
      throw std::runtime_error("the server exited with code " + std::to_string(*code) +
                               " before listening on port " + std::to_string(port_) + said);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      stop(SIGKILL, 5s);
      throw std::runtime_error("the server did not listen on 127.0.0.1:" + std::to_string(port_) +
                               " within " + std::to_string(startup.count()) +
                               " ms (does the command use {port}?)");
    }
    std::this_thread::sleep_for(20ms);
  }
}

ServerProcess::~ServerProcess() {
  stop(SIGTERM, 5s);
  if (reader_.joinable()) {
    reader_.join();
  }
}

void ServerProcess::read_output(int fd) {
  std::string pending;
  std::array<char, 4096> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      break;
    }
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    for (auto newline = pending.find('\n'); newline != std::string::npos;
         newline = pending.find('\n')) {
      {
        const std::lock_guard lock(mutex_);
        lines_.push_back(pending.substr(0, newline));
      }
      changed_.notify_all();
      pending.erase(0, newline + 1);
    }
  }
  ::close(fd);
}

std::optional<std::string> ServerProcess::wait_for_line(std::string_view text,
                                                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<std::string> found;
  changed_.wait_for(lock, timeout, [&] {
    for (const auto& line : lines_) {
      if (line.find(text) != std::string::npos) {
        found = line;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<std::string> ServerProcess::last_lines(std::size_t count) {
  const std::lock_guard lock(mutex_);
  const std::size_t first = lines_.size() > count ? lines_.size() - count : 0;
  return {lines_.begin() + static_cast<std::ptrdiff_t>(first), lines_.end()};
}

std::optional<int> ServerProcess::exited() {
  if (!exit_code_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = decode_status(status);
    }
  }
  return exit_code_;
}

void ServerProcess::signal(int signal) const { ::kill(pid_, signal); }

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return exit_code_;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (exited()) {
    return *exit_code_;
  }
  ::kill(pid_, signal);
  if (!wait_exit(timeout)) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = -1;
  }
  return *exit_code_;
}

}  // namespace tester

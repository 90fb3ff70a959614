// Test helpers: child processes, and the stage's real server run as one.
#include "server_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace ws_test {

namespace {

// The server program, then `first`, then `args`.
std::vector<std::string> server_argv(std::vector<std::string> first,
                                     const std::vector<std::string>& args) {
  first.insert(first.begin(), WS_SERVER_PATH);
  first.insert(first.end(), args.begin(), args.end());
  return first;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, Output output) {
  std::vector<char*> pointers;
  pointers.reserve(argv.size() + 1);
  for (auto& arg : argv) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);

  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  std::array<int, 2> err{-1, -1};
  if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0 ||
      (output == Output::kSeparate && ::pipe2(err.data(), O_CLOEXEC) != 0)) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output == Output::kMerged ? out[1] : err[1],
                                   STDERR_FILENO);
  // Tests ignore SIGPIPE (a child that exits early must not kill the test by closing its stdin),
  // and an ignored signal stays ignored across exec: the child gets the default back.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  const int rc = ::posix_spawn(&pid_, pointers[0], &actions, &attributes, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  stdin_ = in[1];
  stdout_ = out[0];
  stderr_ = err[0];
  for (const int fd : {in[0], out[1], err[1]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (rc != 0) {
    for (const int fd : {stdin_, stdout_, stderr_}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
    throw std::runtime_error("cannot start " + argv.front());
  }
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (const int fd : {stdin_, stdout_, stderr_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

void ChildProcess::close_stdin() {
  if (stdin_ >= 0) {
    ::close(stdin_);
    stdin_ = -1;
  }
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  return exit_code_;
}

int ChildProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (!exit_code_) {
    ::kill(pid_, signal);
    if (!wait_exit(timeout)) {
      ::kill(pid_, SIGKILL);
      wait_exit(10s);
      exit_code_ = -1;
    }
  }
  return *exit_code_;
}

ServerProcess::ServerProcess(const std::vector<std::string>& args)
    : child_(server_argv({"--port", "0"}, args), ChildProcess::Output::kMerged) {
  reader_ = std::thread([this] { read_output(); });
  const auto line = wait_for_line("listening on ", 10s);  // http:// or, with TLS, https://
  if (!line) {
    stop(SIGKILL);
    reader_.join();
    throw std::runtime_error("server did not print its listening line");
  }
  port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

ServerProcess::~ServerProcess() {
  stop();
  if (reader_.joinable()) {
    reader_.join();
  }
}

void ServerProcess::read_output() {
  std::string pending;
  std::array<char, 4096> chunk{};
  ssize_t n = 0;
  while ((n = ::read(child_.stdout_fd(), chunk.data(), chunk.size())) > 0) {
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    std::size_t newline = 0;
    while ((newline = pending.find('\n')) != std::string::npos) {
      {
        const std::lock_guard lock(mutex_);
        lines_.push_back(pending.substr(0, newline));
      }
      changed_.notify_all();
      pending.erase(0, newline + 1);
    }
  }
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

std::vector<std::string> ServerProcess::lines() {
  const std::lock_guard lock(mutex_);
  return lines_;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  return child_.stop(signal, timeout);
}

std::pair<int, std::string> ServerProcess::run_to_exit(const std::vector<std::string>& args,
                                                       std::chrono::milliseconds timeout) {
  ChildProcess child(server_argv({}, args), ChildProcess::Output::kMerged);
  auto code = child.wait_exit(timeout);
  if (!code) {
    child.stop(SIGKILL);
    code = -1;
  }
  std::string output;
  std::array<char, 4096> chunk{};
  ssize_t n = 0;
  while ((n = ::read(child.stdout_fd(), chunk.data(), chunk.size())) > 0) {
    output.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return {*code, output};
}

}  // namespace ws_test

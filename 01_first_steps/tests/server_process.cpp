// Test helper: runs the stage's real server program as a child process.
#include "server_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace ws_test {

namespace {

// Spawns the server with stdout and stderr on a pipe; returns the pid and the pipe's read end.
std::pair<pid_t, int> spawn_server(const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage{WS_SERVER_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error(std::string("cannot start ") + WS_SERVER_PATH);
  }
  return {pid, pipe_fds[0]};
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

// Waits for `pid` up to `timeout`; returns its exit code or nullopt if it is still running.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return decode_status(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace

ServerProcess::ServerProcess(const std::vector<std::string>& args) {
  std::vector<std::string> all{"--port", "0"};
  all.insert(all.end(), args.begin(), args.end());
  const auto [pid, fd] = spawn_server(all);
  pid_ = pid;
  reader_ = std::thread([this, fd = fd] { read_output(fd); });
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

void ServerProcess::read_output(int fd) {
  std::string pending;
  std::array<char, 4096> chunk{};
  while (true) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      break;
    }
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

std::vector<std::string> ServerProcess::lines() {
  const std::lock_guard lock(mutex_);
  return lines_;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (exited_) {
    return exit_code_;
  }
  ::kill(pid_, signal);
  auto code = wait_exit(pid_, timeout);
  if (!code) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 10s);
    code = -1;
  }
  exited_ = true;
  exit_code_ = *code;
  return exit_code_;
}

std::pair<int, std::string> ServerProcess::run_to_exit(const std::vector<std::string>& args,
                                                       std::chrono::milliseconds timeout) {
  const auto [pid, fd] = spawn_server(args);
  auto code = wait_exit(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, 10s);
    code = -1;
  }
  std::string output;
  std::array<char, 4096> chunk{};
  ssize_t n = 0;
  while ((n = ::read(fd, chunk.data(), chunk.size())) > 0) {
    output.append(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return {*code, output};
}

}  // namespace ws_test

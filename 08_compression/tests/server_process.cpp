// Test helper: runs the stage's real server program, or any other program, as a child process.
#include "server_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <utility>

namespace ws_test {

namespace {

// Starts `args` (args[0] is the program's path) with `stdin_fd` as its stdin (-1: this process's
// own) and stdout and stderr on `output_fd`. Returns its pid; throws if it cannot be started.
pid_t spawn(const std::vector<std::string>& args, int stdin_fd, int output_fd) {
  std::vector<std::string> argv_storage = args;
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  }
  posix_spawn_file_actions_adddup2(&actions, output_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output_fd, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + args[0]);
  }
  return pid;
}

// A pipe whose ends are closed in child processes (spawn dup2s the one it hands over).
std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  return fds;
}

// The server's command line: its path, then `args`.
std::vector<std::string> server_command(const std::vector<std::string>& args) {
  std::vector<std::string> command{WS_SERVER_PATH};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

// Spawns the server with stdout and stderr on a pipe; returns the pid and the pipe's read end.
std::pair<pid_t, int> spawn_server(const std::vector<std::string>& args) {
  const auto pipe_fds = make_pipe();
  pid_t pid = -1;
  try {
    pid = spawn(server_command(args), -1, pipe_fds[1]);
  } catch (...) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw;
  }
  ::close(pipe_fds[1]);
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
  ProgramResult result = run_program(server_command(args), {}, timeout);
  return {result.code, std::move(result.output)};
}

ProgramResult run_program(const std::vector<std::string>& args, const std::string& input,
                          std::chrono::milliseconds timeout) {
  // The input goes into the pipe before the program starts, so writing it can neither block nor
  // raise SIGPIPE if the program exits without reading it.
  const auto input_fds = make_pipe();
  if (input.size() > 4096 ||
      ::write(input_fds[1], input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    ::close(input_fds[0]);
    ::close(input_fds[1]);
    throw std::runtime_error("run_program: input too large for the pipe");
  }
  ::close(input_fds[1]);
  const auto output_fds = make_pipe();
  pid_t pid = -1;
  try {
    pid = spawn(args, input_fds[0], output_fds[1]);
  } catch (...) {
    ::close(input_fds[0]);
    ::close(output_fds[0]);
    ::close(output_fds[1]);
    throw;
  }
  ::close(input_fds[0]);
  ::close(output_fds[1]);
  // Read while it runs: a program that fills the pipe would otherwise never exit.
  ProgramResult result;
  std::thread reader([&result, fd = output_fds[0]] {
    std::array<char, 4096> chunk{};
    ssize_t n = 0;
    while ((n = ::read(fd, chunk.data(), chunk.size())) > 0) {
      result.output.append(chunk.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
  });
  auto code = wait_exit(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_exit(pid, 10s);
    code = -1;
  }
  reader.join();
  result.code = *code;
  return result;
}

}  // namespace ws_test

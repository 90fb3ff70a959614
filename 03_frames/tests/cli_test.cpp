// Integration tests of the CLI client (src/cli.cpp): the built `client` program runs against the
// stage's echo server with its stdin, stdout and stderr on pipes, exactly as a learner runs it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "handshake.hpp"
#include "http.hpp"
#include "server_process.hpp"
#include "socket.hpp"

namespace ws_test {
namespace {

// The client program as a child process, with what it prints collected. Every wait is bounded;
// a child still running when the object is destroyed is killed.
class CliProcess {
 public:
  explicit CliProcess(const std::vector<std::string>& args)
      : child_(client_argv(args), ChildProcess::Output::kSeparate),
        stdout_(child_.stdout_fd()),
        stderr_(child_.stderr_fd()) {}

  void write_stdin(std::string_view text) const {
    ASSERT_EQ(::write(child_.stdin_fd(), text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }

  void close_stdin() { child_.close_stdin(); }

  // Waits until stdout contains `text`; false after `timeout`.
  bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(text) == std::string::npos) {
      if (!read_output(deadline)) {
        return out_.find(text) != std::string::npos;
      }
    }
    return true;
  }

  // Reads all output until the child exits (SIGKILL after `timeout`) and returns its exit code,
  // or -1 if it had to be killed.
  int wait_exit(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_output(deadline)) {
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (const auto code = child_.wait_exit(std::max(left, 0ms))) {
      return *code;
    }
    child_.stop(SIGKILL);
    return -1;
  }

  [[nodiscard]] const std::string& out() const { return out_; }
  [[nodiscard]] const std::string& err() const { return err_; }

 private:
  static std::vector<std::string> client_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv{WS_CLIENT_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Reads what stdout and stderr have; false once both have ended or the deadline passed.
  bool read_output(std::chrono::steady_clock::time_point deadline) {
    if (stdout_ < 0 && stderr_ < 0) {
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::array<pollfd, 2> fds{{{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}}};
    if (left.count() <= 0 || ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) {
      return false;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds.at(i).revents == 0) {
        continue;
      }
      int& fd = i == 0 ? stdout_ : stderr_;
      std::array<char, 4096> chunk{};
      const ssize_t n = ::read(fd, chunk.data(), chunk.size());
      if (n <= 0) {
        fd = -1;  // ended; ChildProcess closes it
      } else {
        (i == 0 ? out_ : err_).append(chunk.data(), static_cast<std::size_t>(n));
      }
    }
    return true;
  }

  ChildProcess child_;
  int stdout_;  // -1 once ended
  int stderr_;
  std::string out_;
  std::string err_;
};

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
};

std::string url_for(std::uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port) + "/"; }

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_F(Cli, EchoesEachLineAndClosesWith1000WhenStdinEnds) {
  ServerProcess server;
  CliProcess client({url_for(server.port())});
  client.write_stdin("hello\nwörld\n");
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "< hello\n< wörld\n")) << client.out();
  EXPECT_TRUE(contains(client.out(), "closed 1000 \"\"\n")) << client.out();
  EXPECT_TRUE(server.wait_for_line(R"(closed 1000 "" (initiated by client))"));
}

TEST_F(Cli, SendsTheCloseCodeAndReasonGiven) {
  ServerProcess server;
  CliProcess client({url_for(server.port()), "--close", "4000", "see you"});
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "closed 4000 \"\"\n")) << client.out();
  EXPECT_TRUE(server.wait_for_line(R"(closed 4000 "see you" (initiated by client))"));
}

TEST_F(Cli, BinaryModeSendsBinaryAndPrintsItInHex) {
  ServerProcess server;
  CliProcess client({url_for(server.port()), "--binary"});
  client.write_stdin("hi\n" + std::string(40, 'z') + "\n");
  client.close_stdin();
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "< binary 2 bytes: 68 69\n")) << client.out();
  EXPECT_TRUE(contains(client.out(), "< binary 40 bytes: 7a 7a")) << client.out();
  EXPECT_TRUE(contains(client.out(), " 7a ...\n")) << "only 32 bytes shown: " << client.out();
}

TEST_F(Cli, RawUnmaskedFrameIsAnsweredWith1002) {
  ServerProcess server;
  // An unmasked text frame "hi": §5.1 makes the server fail the connection.
  CliProcess client({url_for(server.port()), "--raw", "81 02 68 69"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "< frame: close, FIN=1, RSV1-3=000, 28 bytes: 03 ea"))
      << client.out();
  EXPECT_TRUE(contains(client.out(), "server closed 1002")) << client.out();
}

TEST_F(Cli, RawPrintsEveryFrameItReceivesPongAndCloseIncluded) {
  ServerProcess server;
  // A masked ping "hi", then a masked close 1000 (masking key 00 00 00 00: the bytes as they are).
  CliProcess client(
      {url_for(server.port()), "--raw", "89 82 00 00 00 00 68 69 88 82 00 00 00 00 03 e8"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "< frame: pong, FIN=1, RSV1-3=000, 2 bytes: 68 69\n"))
      << client.out();
  EXPECT_TRUE(contains(client.out(),
                       "< frame: close, FIN=1, RSV1-3=000, 2 bytes: 03 e8 (close 1000 \"\")\n"))
      << client.out();
  EXPECT_TRUE(contains(client.out(), "server closed 1000 \"\"\n")) << client.out();
}

TEST_F(Cli, RawStopsAfterWaitAndSaysWhatTheServerStillAwaits) {
  ServerProcess server;
  // A masked text frame announcing 5 bytes of payload, of which only one is sent.
  CliProcess client({url_for(server.port()), "--raw", "81 85 00 00 00 00 68", "--wait", "1"});
  EXPECT_EQ(client.wait_exit(5s), 0) << client.err();
  EXPECT_TRUE(contains(client.out(),
                       "no answer within 1 s: the server is still waiting for the rest of the "
                       "frame (1 of 5 payload bytes sent)\n"))
      << client.out();

  CliProcess no_wait({url_for(server.port()), "--raw", "81 80 00 00 00 00", "--wait", "0"});
  EXPECT_EQ(no_wait.wait_exit(), 2);
  EXPECT_TRUE(contains(no_wait.err(), "--wait needs a number of seconds")) << no_wait.err();
}

TEST_F(Cli, RawFramesWithNonMinimalLengthsAreAccepted) {
  // §5.2's "minimal number of bytes" binds the sender; this server reads any length form whose
  // value is right: "hi" with a 16-bit length and "A" with a 64-bit length are both echoed.
  ServerProcess server;
  CliProcess client({url_for(server.port()), "--raw",
                     "81 fe 00 02 00 00 00 00 68 69 82 ff 00 00 00 00 00 00 00 01 00 00 00 00 41",
                     "--wait", "1"});
  EXPECT_EQ(client.wait_exit(5s), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "< frame: text, FIN=1, RSV1-3=000, 2 bytes: \"hi\"\n"))
      << client.out();
  EXPECT_TRUE(contains(client.out(), "< frame: binary, FIN=1, RSV1-3=000, 1 byte: 41\n"))
      << client.out();
  EXPECT_TRUE(contains(client.out(),
                       "nothing more within 1 s: the server is waiting for the "
                       "next frame\n"))
      << client.out();
}

TEST_F(Cli, RawSplitsFramesThatArriveInOneRead) {
  // A server that answers the handshake and sends four frames behind its 101, all in one write:
  // two texts, a pong and a close 1000. Each must be printed with its own payload.
  auto listeners = ws::listen_tcp("127.0.0.1", 0);
  const ws::Fd listener = std::move(listeners.front());
  std::thread server([&listener] {
    pollfd waiting{listener.get(), POLLIN, 0};
    if (::poll(&waiting, 1, 5000) != 1) {
      return;  // the client never came; the test's expectations report it
    }
    const ws::Fd peer(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    const ws::Deadline deadline = ws::Clock::now() + 5s;
    std::string received;
    std::array<char, 4096> chunk{};
    std::size_t size = 0;
    while (!ws::find_head_end(received) &&
           ws::read_some(peer.get(), chunk, size, deadline, -1) == ws::IoStatus::kOk) {
      received.append(chunk.data(), size);
    }
    std::string error;
    const auto request = ws::parse_request(received, error);
    const std::string key{request ? request->header("Sec-WebSocket-Key").value_or("") : ""};
    const std::string frames = std::string("\x81\x02") + "hi" + std::string("\x81\x03") + "abc" +
                               std::string("\x8a\x01") + "?" + std::string("\x88\x02\x03\xe8", 4);
    EXPECT_EQ(ws::write_all(peer.get(),
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                                ws::compute_accept_key(key) + "\r\n\r\n" + frames),
              ws::IoStatus::kOk);
    // The client's raw bytes (6) and its close reply (8), then the server closes TCP first.
    received.clear();
    while (received.size() < 14 &&
           ws::read_some(peer.get(), chunk, size, deadline, -1) == ws::IoStatus::kOk) {
      received.append(chunk.data(), size);
    }
  });
  CliProcess client({url_for(ws::local_port(listener.get())), "--raw", "8a 80 00 00 00 00"});
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  server.join();
  EXPECT_TRUE(contains(client.out(),
                       "< frame: text, FIN=1, RSV1-3=000, 2 bytes: \"hi\"\n"
                       "< frame: text, FIN=1, RSV1-3=000, 3 bytes: \"abc\"\n"
                       "< frame: pong, FIN=1, RSV1-3=000, 1 byte: 3f\n"
                       "< frame: close, FIN=1, RSV1-3=000, 2 bytes: 03 e8 (close 1000 \"\")\n"
                       "> close reply sent (masked), code 1000\n"
                       "server closed 1000 \"\"\n"))
      << client.out();
}

TEST_F(Cli, ServerShutdownPrintsServerClosed1001) {
  ServerProcess server;
  CliProcess client({url_for(server.port())});
  ASSERT_TRUE(client.wait_for_output("connected to")) << client.out() << client.err();
  client.write_stdin("still here\n");
  ASSERT_TRUE(client.wait_for_output("< still here\n"));
  ::kill(server.pid(), SIGTERM);
  EXPECT_EQ(client.wait_exit(), 0) << client.err();
  EXPECT_TRUE(contains(client.out(), "server closed 1001 \"server shutting down\"\n"))
      << client.out();
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(Cli, BadUrlExitsWith2AndOneLineOnStderr) {
  CliProcess client({"http://127.0.0.1:1337/"});
  EXPECT_EQ(client.wait_exit(), 2);
  EXPECT_EQ(client.out(), "");
  EXPECT_TRUE(client.err().starts_with("client: unsupported scheme \"http\"")) << client.err();
  EXPECT_EQ(std::count(client.err().begin(), client.err().end(), '\n'), 1) << client.err();
}

TEST_F(Cli, RefusedConnectionAndUnknownFlagExitWith2) {
  ServerProcess server;
  const std::uint16_t port = server.port();
  server.stop();
  CliProcess refused({url_for(port)});
  EXPECT_EQ(refused.wait_exit(), 2);
  EXPECT_TRUE(contains(refused.err(), "Connection refused")) << refused.err();

  CliProcess unknown({url_for(port), "--frobnicate"});
  EXPECT_EQ(unknown.wait_exit(), 2);
  EXPECT_TRUE(contains(unknown.err(), "unknown flag --frobnicate")) << unknown.err();

  CliProcess help({"--help"});
  EXPECT_EQ(help.wait_exit(), 0);
  EXPECT_TRUE(help.out().starts_with("usage: client URL")) << help.out();
}

}  // namespace
}  // namespace ws_test

// Interop tests of our client (src/client.hpp) against a server that is not ours: Python's
// websockets (Debian's python3-websockets), running tests/python_echo_server.py. Skipped when
// that package is missing, unless WS_REQUIRE_E2E=1 (set by `./course test`) makes it a failure.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";

// True if Debian's Python has the websockets package.
bool python_websockets_available() {
  static const bool available = [] {
    try {
      ChildProcess check({kPython, "-c", "import websockets"}, ChildProcess::Output::kMerged);
      return check.wait_exit(10s) == 0;
    } catch (const std::runtime_error&) {
      return false;  // no /usr/bin/python3 at all
    }
  }();
  return available;
}

// tests/python_echo_server.py as a child process, on a free port. Stopped with SIGTERM (then
// SIGKILL) when destroyed.
class PythonServer {
 public:
  PythonServer() : child_({kPython, WS_PYTHON_SERVER}, ChildProcess::Output::kMerged) {
    // Read up to the line `listening on ws://127.0.0.1:PORT`, 10 s at most.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    constexpr std::string_view kListening = "listening on ";
    while (true) {
      const auto start = printed_.find(kListening);
      const auto end = printed_.find('\n', start);
      if (start != std::string::npos && end != std::string::npos) {
        url_ = printed_.substr(start + kListening.size(), end - start - kListening.size());
        break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{child_.stdout_fd(), POLLIN, 0};
      std::array<char, 4096> chunk{};
      ssize_t n = 0;
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0 ||
          (n = ::read(child_.stdout_fd(), chunk.data(), chunk.size())) <= 0) {
        throw std::runtime_error("the Python server did not start; it printed: " + printed_);
      }
      printed_.append(chunk.data(), static_cast<std::size_t>(n));
    }
  }
  ~PythonServer() { stop(); }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;

  /// ws://127.0.0.1:PORT
  [[nodiscard]] const std::string& url() const { return url_; }

  /// Sends SIGTERM and returns the exit code (-1 if it needed SIGKILL after 10 s).
  int stop() { return child_.stop(SIGTERM, 10s); }

 private:
  ChildProcess child_;
  std::string printed_;
  std::string url_;
};

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (python_websockets_available()) {
      return;
    }
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in this process changes the environment.
    const char* require = std::getenv("WS_REQUIRE_E2E");
    if (require != nullptr && std::string_view(require) == "1") {
      FAIL() << kPython << " cannot import websockets; run ./course setup";
    }
    GTEST_SKIP() << kPython << " cannot import websockets (python3-websockets); run ./course setup";
  }

  static ws::Deadline in(std::chrono::milliseconds duration) { return ws::Clock::now() + duration; }
};

TEST_F(Interop, PythonServerEchoesMultiByteUtf8Text) {
  PythonServer server;
  ws::Client client = ws::Client::dial(server.url() + "/");
  // Two-, three- and four-byte UTF-8 sequences, and text split only at code point boundaries.
  for (const std::string text : {"h\u00e9llo w\u00f6rld", "\u4f60\u597d\uff0c\u4e16\u754c",
                                 "\U0001F600 \U0001F30D \U00010348", ""}) {
    client.send_text(text);
    const ws::Message echo = client.read_message(in(5s));
    EXPECT_EQ(echo.type, ws::Opcode::kText);
    EXPECT_EQ(echo.payload, text);
  }
  EXPECT_EQ(client.close().code, 1000);
}

TEST_F(Interop, PythonServerEchoesAllByteValuesInBinary) {
  PythonServer server;
  ws::Client client = ws::Client::dial(server.url());
  std::string every_byte(256, '\0');
  for (std::size_t i = 0; i < every_byte.size(); ++i) {
    every_byte[i] = static_cast<char>(i);
  }
  client.send_binary(every_byte);
  const ws::Message echo = client.read_message(in(5s));
  EXPECT_EQ(echo.type, ws::Opcode::kBinary);
  EXPECT_EQ(echo.payload, every_byte);
  EXPECT_EQ(client.close().code, 1000);
}

TEST_F(Interop, PythonServerEchoesEveryLengthFormUpTo1MiB) {
  PythonServer server;
  ws::Client client = ws::Client::dial(server.url());
  for (const std::size_t size : {0UL, 125UL, 126UL, 65535UL, 65536UL, 1024UL * 1024}) {
    for (const ws::Opcode type : {ws::Opcode::kText, ws::Opcode::kBinary}) {
      SCOPED_TRACE(std::to_string(size) + (type == ws::Opcode::kText ? " text" : " binary"));
      std::string payload(size, 'x');
      for (std::size_t i = 0; i < size; ++i) {
        payload[i] = type == ws::Opcode::kText ? static_cast<char>('a' + i % 26)
                                               : static_cast<char>(i * 31 % 256);
      }
      if (type == ws::Opcode::kText) {
        client.send_text(payload);
      } else {
        client.send_binary(payload);
      }
      const ws::Message echo = client.read_message(in(10s));
      EXPECT_EQ(echo.type, type);
      EXPECT_TRUE(echo.payload == payload) << "payload of " << echo.payload.size() << " bytes";
    }
  }
  EXPECT_EQ(client.close().code, 1000);
}

TEST_F(Interop, PythonServerAnswersOurPing) {
  PythonServer server;
  ws::Client client = ws::Client::dial(server.url());
  client.ping("interop ping");
  client.send_text("after");
  EXPECT_EQ(client.read_message(in(5s)).payload, "after");
  EXPECT_EQ(client.last_pong(), "interop ping");
  EXPECT_EQ(client.close().code, 1000);
}

TEST_F(Interop, PythonServerClosesCleanlyWithTheCodeWeSent) {
  PythonServer server;
  for (const std::uint16_t code : std::initializer_list<std::uint16_t>{1000, 4000}) {
    ws::Client client = ws::Client::dial(server.url());
    const ws::CloseStatus reply = client.close({code, "bye"});
    // websockets echoes the whole close frame, reason included.
    EXPECT_EQ(reply.code, code);
    try {
      client.read_message(in(1s));
      ADD_FAILURE() << "read_message after close() did not throw";
    } catch (const ws::CloseError& end) {
      EXPECT_TRUE(end.was_clean);
      EXPECT_EQ(end.status.code, code);
    }
  }
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(Interop, PythonServerShutdownIsACleanCloseError1001) {
  PythonServer server;
  ws::Client client = ws::Client::dial(server.url());
  client.send_text("hello");
  ASSERT_EQ(client.read_message(in(5s)).payload, "hello");
  std::thread stopper([&] { EXPECT_EQ(server.stop(), 0); });
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const ws::CloseError& end) {
    EXPECT_EQ(end.status.code, 1001);
    EXPECT_TRUE(end.was_clean);
  }
  stopper.join();
}

}  // namespace
}  // namespace ws_test

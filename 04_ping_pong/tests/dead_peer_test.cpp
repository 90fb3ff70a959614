// Integration tests of the heartbeat (RFC 6455 §5.5.2-5.5.3) against the real server, with short
// periods: live peers stay, silent or stuck peers are dropped in bounded time, others keep being
// served.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

using Clock = std::chrono::steady_clock;

// 100 ms between pings, 300 ms to answer: a silent peer is dropped about 400 ms after it connected.
const std::vector<std::string> kFastHeartbeat = {"--ping-period", "100ms", "--pong-wait", "300ms"};

TEST(DeadPeer, APeerThatAnswersPingsStaysConnected) {
  ServerProcess server(kFastHeartbeat);
  RawClient client(server.port());
  client.handshake();
  int pings = 0;
  const auto end = Clock::now() + 1500ms;  // fifteen ping periods, five times pong_wait
  while (Clock::now() < end) {
    const ServerFrame frame = client.read_frame(1s);
    ASSERT_EQ(frame.opcode, static_cast<std::uint8_t>(ws::Opcode::kPing));
    client.send(client_frame(ws::Opcode::kPong, frame.payload));
    ++pings;
  }
  EXPECT_GE(pings, 10);
  EXPECT_TRUE(server.wait_for_line("#1 pong 10: round trip"));
  client.send(client_frame(ws::Opcode::kText, "still here"));
  ServerFrame echo = client.read_frame();
  while (echo.opcode == static_cast<std::uint8_t>(ws::Opcode::kPing)) {
    echo = client.read_frame();
  }
  EXPECT_EQ(echo.payload, "still here");
  for (const auto& line : server.lines()) {
    EXPECT_EQ(line.find("heartbeat timeout"), std::string::npos) << line;
  }
}

TEST(DeadPeer, APeerThatReadsButNeverAnswersIsDroppedInTime) {
  ServerProcess server(kFastHeartbeat);
  const auto connected = Clock::now();
  RawClient silent(server.port());
  silent.handshake();

  // Meanwhile another client answers its pings on a thread, then sends a message.
  std::string echoed;
  std::thread other_thread([&] {
    try {
      RawClient other(server.port());
      other.handshake();
      const auto send_at = Clock::now() + 700ms;
      bool sent = false;
      for (int frames = 0; frames < 100; ++frames) {
        if (!sent && Clock::now() >= send_at) {
          other.send(client_frame(ws::Opcode::kText, "hello"));
          sent = true;
        }
        const ServerFrame frame = other.read_frame(1s);
        if (frame.opcode == static_cast<std::uint8_t>(ws::Opcode::kPing)) {
          other.send(client_frame(ws::Opcode::kPong, frame.payload));
        } else {
          echoed = frame.payload;
          return;
        }
      }
    } catch (const std::runtime_error& error) {
      echoed = std::string("error: ") + error.what();
    }
  });

  const ServerFrame ping = silent.read_frame(1s);
  EXPECT_EQ(ping.opcode, static_cast<std::uint8_t>(ws::Opcode::kPing));
  EXPECT_EQ(silent.read_close_code(2s), 1001);
  EXPECT_TRUE(silent.closed_by_server(1s));
  const auto dropped_after = Clock::now() - connected;
  EXPECT_LT(dropped_after, 100ms + 300ms + 400ms) << "ping period + pong wait + slack";
  EXPECT_TRUE(server.wait_for_line("#1 heartbeat timeout: no sign of life within 300 ms"));

  other_thread.join();
  EXPECT_EQ(echoed, "hello") << "the other client is still served";
}

TEST(DeadPeer, APeerThatStopsReadingEntirelyIsDroppedInTime) {
  ServerProcess server(kFastHeartbeat);
  RawClient frozen(server.port());
  frozen.handshake();  // and then neither reads nor writes, like a process stopped with SIGSTOP
  const auto start = Clock::now();
  EXPECT_TRUE(server.wait_for_line("#1 heartbeat timeout", 2s));
  EXPECT_LT(Clock::now() - start, 100ms + 300ms + 400ms);
  EXPECT_TRUE(server.wait_for_line("#1 closed 1001 \"heartbeat timeout\"", 1s));
  EXPECT_TRUE(frozen.closed_by_server(1s)) << "its resources are freed: TCP is closed";
}

TEST(DeadPeer, PingsAreAnsweredBetweenTheFragmentsOfAMessage) {
  ServerProcess server;  // default periods: no pings of the server's own get in the way
  RawClient client(server.port());
  client.handshake();
  client.send(client_frame(ws::Opcode::kText, "frag", false));
  client.send(client_frame(ws::Opcode::kPing, "between"));
  const ServerFrame pong = client.read_frame();
  EXPECT_EQ(pong.opcode, static_cast<std::uint8_t>(ws::Opcode::kPong));
  EXPECT_EQ(pong.payload, "between") << "the pong does not wait for the message to end";
  client.send(client_frame(ws::Opcode::kContinuation, "ments"));
  EXPECT_EQ(client.read_frame().payload, "fragments");
}

TEST(DeadPeer, APeerThatStopsReadingWhileWeWriteIsDropped) {
  ServerProcess server(kFastHeartbeat);
  RawClient flooder(server.port());
  flooder.handshake();
  // Echoes of 1 MiB messages pile up in the kernel's buffers until the server's write cannot
  // progress; its deadline (pong_wait) then ends the connection. The sending happens on a
  // thread because our own sends block too once the server stops reading.
  std::atomic<bool> done{false};
  std::thread sender([&] {
    const std::string frame = client_frame(ws::Opcode::kBinary, std::string(1 << 20, 'x'));
    try {
      for (int i = 0; i < 64 && !done; ++i) {
        flooder.send(frame);
      }
    } catch (const std::runtime_error&) {
      // the server closed the connection: expected
    }
  });
  const bool dropped = server.wait_for_line("#1 closed 1006 (abnormal closure: ", 10s).has_value();
  done = true;
  flooder.shutdown_both();  // unblocks the sender if the server had not dropped us
  sender.join();
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(server.wait_for_line("the peer stopped reading") ||
              server.wait_for_line("heartbeat timeout"));
}

}  // namespace
}  // namespace ws_test

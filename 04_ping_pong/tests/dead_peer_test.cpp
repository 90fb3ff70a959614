// Integration tests of the heartbeat (RFC 6455 §5.5.2-5.5.3) against the real server, with short
// periods: live peers stay, silent or stuck peers and messages dripped too slowly (§10.4) are
// dropped in bounded time, others keep being served.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
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
  EXPECT_TRUE(server.wait_for_line(
      "#1 closed 1001 \"heartbeat timeout\" (initiated by server; did not wait for a close reply)",
      1s));
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

// Reads frames from `client` until the server's close frame (skipping pings) and returns its
// payload: the code's two bytes, then the reason.
std::string read_close_payload(RawClient& client, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (int frames = 0; frames < 1000; ++frames) {
    const ServerFrame frame = client.read_frame(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (frame.opcode == static_cast<std::uint8_t>(ws::Opcode::kClose)) {
      return frame.payload;
    }
  }
  throw std::runtime_error("no close frame in 1000 frames");
}

TEST(DeadPeer, AFrameDrippedByteByByteIsClosedWith1008WhileOthersAreServed) {
  // Half a second to answer a ping: a started message has 2 x 500 ms to finish (or to deliver
  // 16 KiB). The first ping is 5 s away, so the server must wake up for the window itself.
  ServerProcess server({"--ping-period", "5s", "--pong-wait", "500ms"});
  RawClient dripper(server.port());
  dripper.handshake();
  RawClient normal(server.port());
  normal.handshake();

  const std::string frame = client_frame(ws::Opcode::kText, std::string(100, 'x'));
  std::atomic<bool> stop{false};
  const auto started = Clock::now();
  dripper.send(frame.substr(0, 6));  // the header and the masking key, then the payload slowly
  std::thread drip([&] {
    try {
      for (std::size_t i = 6; i < frame.size() && !stop; ++i) {  // at most 9.4 s
        std::this_thread::sleep_for(100ms);
        dripper.send(frame.substr(i, 1));
      }
    } catch (const std::runtime_error&) {
      // the server closed the connection: expected
    }
  });

  // Meanwhile, and after the dripper is gone, the normal client is echoed every 100 ms.
  int echoes = 0;
  std::string failure;
  std::thread other([&] {
    try {
      for (int i = 0; i < 15; ++i) {
        const std::string text = "hello " + std::to_string(i);
        normal.send(client_frame(ws::Opcode::kText, text));
        ServerFrame echo = normal.read_frame(1s);
        for (int pings = 0;
             pings < 10 && echo.opcode == static_cast<std::uint8_t>(ws::Opcode::kPing); ++pings) {
          normal.send(client_frame(ws::Opcode::kPong, echo.payload));
          echo = normal.read_frame(1s);
        }
        if (echo.payload != text) {
          failure = "echo " + std::to_string(i) + ": " + echo.payload;
          return;
        }
        ++echoes;
        std::this_thread::sleep_for(100ms);
      }
    } catch (const std::runtime_error& error) {
      failure = error.what();
    }
  });

  std::string close;
  try {
    close = read_close_payload(dripper, 3s);
  } catch (const std::runtime_error& error) {
    ADD_FAILURE() << error.what();
  }
  const auto closed_after = Clock::now() - started;
  stop = true;
  drip.join();
  other.join();

  ASSERT_GE(close.size(), 2U);
  EXPECT_EQ(close.substr(0, 2), "\x03\xF0") << "1008, policy violation";
  EXPECT_EQ(close.substr(2), "message too slow");
  EXPECT_GE(closed_after, 1000ms) << "not before the window of 2 x pong_wait has passed";
  EXPECT_LT(closed_after, 1000ms + 400ms) << "the window + slack";
  EXPECT_TRUE(dripper.closed_by_server(1s)) << "its thread is gone: TCP is closed";
  EXPECT_TRUE(server.wait_for_line(
      "#1 message too slow: an unfinished message sent fewer than 16384 bytes in 1000 ms"));
  EXPECT_TRUE(server.wait_for_line(
      "#1 closed 1008 \"message too slow\" (initiated by server; did not wait for a close reply)"));
  EXPECT_EQ(failure, "");
  EXPECT_EQ(echoes, 15) << "the other client was served during and after the drip";
}

}  // namespace
}  // namespace ws_test

// Integration tests of the closing handshake (RFC 6455 §5.5.1, §7) against the real server.
#include <gtest/gtest.h>

#include <string>

#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

// A masked close frame carrying `code` and `reason`.
std::string close_frame(std::uint16_t code, const std::string& reason = {}) {
  std::string payload{static_cast<char>(code >> 8U), static_cast<char>(code & 0xFFU)};
  return client_frame(ws::Opcode::kClose, payload + reason);
}

class ClientInitiatedClose : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(ClientInitiatedClose, IsEchoedAndTheServerClosesTcpFirst) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  client.send(close_frame(GetParam(), "bye"));
  EXPECT_EQ(client.read_close_code(), GetParam());
  // We never close our side: the server must close TCP (§7.1.1).
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(server.wait_for_line("#1 closed " + std::to_string(GetParam()) +
                                   " \"bye\" (initiated by client)"));
}

INSTANTIATE_TEST_SUITE_P(ValidCodes, ClientInitiatedClose,
                         ::testing::Values(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                           1012, 1013, 1014, 3000, 3999, 4000, 4999));

TEST(Close, EmptyCloseIsAnsweredWithEmptyClose) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  client.send(client_frame(ws::Opcode::kClose, ""));
  EXPECT_EQ(client.read_close_code(), 1005) << "1005 stands for an empty close payload";
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(server.wait_for_line("#1 closed 1005"));
}

class InvalidCloseCode : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(InvalidCloseCode, IsAnsweredWith1002) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  client.send(close_frame(GetParam()));
  EXPECT_EQ(client.read_close_code(), 1002);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(server.wait_for_line("#1 closed 1002"));
}

// §7.4.1-7.4.2: below 1000, 1004 (reserved), 1005/1006/1015 (never sent on the wire),
// unassigned 1016-2999, and everything above 4999.
INSTANTIATE_TEST_SUITE_P(InvalidCodes, InvalidCloseCode,
                         ::testing::Values(0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                           5000, 65535));

TEST(Close, OneBytePayloadIsAProtocolError) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  client.send(client_frame(ws::Opcode::kClose, "\x03"));
  EXPECT_EQ(client.read_close_code(), 1002);
}

TEST(Close, ReasonThatIsNotUtf8IsAnsweredWith1007) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  // \xed\xa0\x80 would encode the surrogate U+D800, which UTF-8 forbids.
  client.send(close_frame(1000, "bad \xed\xa0\x80 reason"));
  EXPECT_EQ(client.read_close_code(), 1007);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Close, ReasonOf123BytesIsFineButAPayloadOver125IsNot) {
  ServerProcess server;
  {
    RawClient client(server.port());
    client.handshake();
    client.send(close_frame(1000, std::string(123, 'r')));
    EXPECT_EQ(client.read_close_code(), 1000);
  }
  RawClient client(server.port());
  client.handshake();
  client.send(close_frame(1000, std::string(124, 'r')));  // 126-byte control frame
  EXPECT_EQ(client.read_close_code(), 1002);
}

TEST(Close, SigtermSends1001AndWaitsForTheReply) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  ::kill(server.pid(), SIGTERM);
  EXPECT_EQ(client.read_close_code(), 1001);
  // Data after the server's close is discarded (§1.4), then our reply completes the handshake.
  client.send(client_frame(ws::Opcode::kText, "too late"));
  client.send(close_frame(1001));
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(server.stop(SIGTERM), 0);
  EXPECT_TRUE(server.wait_for_line(
      "#1 closed 1001 \"server shutting down\" (initiated by server; client replied 1001"));
  for (const auto& line : server.lines()) {
    EXPECT_EQ(line.find("too late"), std::string::npos) << line;
  }
}

TEST(Close, ShutdownClosesEveryConnection) {
  ServerProcess server;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<RawClient>(server.port()));
    clients.back()->handshake();
  }
  ::kill(server.pid(), SIGINT);
  for (auto& client : clients) {
    EXPECT_EQ(client->read_close_code(), 1001);
    client->send(close_frame(1001));
    EXPECT_TRUE(client->closed_by_server());
  }
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST(Close, ShutdownDoesNotWaitForeverForASilentClient) {
  ServerProcess server;
  RawClient silent(server.port());
  silent.handshake();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM, 15s), 0);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 4s);   // it did wait for the reply...
  EXPECT_LT(waited, 10s);  // ...but only about kCloseTimeout
  EXPECT_TRUE(server.wait_for_line("no close reply within 5000 ms"));
}

TEST(Close, AbruptDisconnectIsLoggedAs1006AndTheNextClientIsServed) {
  ServerProcess server;
  {
    RawClient client(server.port());
    client.handshake();
    client.send(client_frame(ws::Opcode::kText, "echo me"));
    client.read_frame();  // the echo: with nothing unread, closing sends a FIN, not a reset
  }
  EXPECT_TRUE(server.wait_for_line(
      "#1 closed 1006 (abnormal closure: peer closed TCP without a close frame)"));
  RawClient next(server.port());
  next.handshake();
  next.send(close_frame(1000));
  EXPECT_EQ(next.read_close_code(), 1000);
}

}  // namespace
}  // namespace ws_test

// Integration tests: the real server program over loopback TCP, driven by a hand-made client.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raw_client.hpp"
#include "server_process.hpp"

namespace ws_test {
namespace {

TEST(Server, UpgradesAHandshakeSentByteByByte) {
  ServerProcess server;
  RawClient client(server.port());
  client.send_byte_by_byte(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  const std::string response = client.read_http_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0U) << response;
  EXPECT_NE(response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_TRUE(server.wait_for_line("#1 upgraded"));
}

TEST(Server, EchoesTextAndBinaryInEveryLengthForm) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  // 7-bit, 16-bit (sent byte by byte) and 64-bit lengths; binary with zero bytes.
  const std::vector<std::pair<ws::Opcode, std::string>> messages = {
      {ws::Opcode::kText, "hello, server"},
      {ws::Opcode::kText, std::string(300, 'a')},
      {ws::Opcode::kText, std::string(70000, 'b')},
      {ws::Opcode::kBinary, std::string(5, '\0')},
      {ws::Opcode::kText, ""},
  };
  for (const auto& [opcode, payload] : messages) {
    if (payload.size() == 300) {
      client.send_byte_by_byte(client_frame(opcode, payload), 0ms);
    } else {
      client.send(client_frame(opcode, payload));
    }
    const ServerFrame echo = client.read_frame();
    EXPECT_TRUE(echo.fin);
    EXPECT_FALSE(echo.masked) << "RFC 6455 §5.1: servers never mask";
    EXPECT_EQ(echo.opcode, static_cast<std::uint8_t>(opcode));
    EXPECT_EQ(echo.payload, payload);
  }
}

TEST(Server, EchoesAFramePipelinedWithTheRequest) {
  ServerProcess server;
  RawClient client(server.port());
  client.send(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
      client_frame(ws::Opcode::kText, "right behind the request"));
  EXPECT_EQ(client.read_http_response().rfind("HTTP/1.1 101", 0), 0U);
  EXPECT_EQ(client.read_frame().payload, "right behind the request");
}

TEST(Server, AnswersPingsWithTheSamePayloadAndIgnoresPongs) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  client.send(client_frame(ws::Opcode::kPong, "unsolicited"));
  client.send(client_frame(ws::Opcode::kPing, "are you there?"));
  const ServerFrame pong = client.read_frame();
  EXPECT_EQ(pong.opcode, static_cast<std::uint8_t>(ws::Opcode::kPong));
  EXPECT_EQ(pong.payload, "are you there?");
}

TEST(Server, RefusesMessagesOverMaxMessageWith1009) {
  ServerProcess server({"--max-message", "1K"});
  RawClient client(server.port());
  client.handshake();
  client.send(client_frame(ws::Opcode::kBinary, std::string(1024, 'x')));
  EXPECT_EQ(client.read_frame().payload.size(), 1024U);
  // Two fragments of 600 bytes: each frame is under the limit, the message is not.
  client.send(client_frame(ws::Opcode::kBinary, std::string(600, 'x'), false));
  client.send(client_frame(ws::Opcode::kContinuation, std::string(600, 'x')));
  EXPECT_EQ(client.read_close_code(), 1009);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(server.wait_for_line("#1 closed 1009 \"message over 1024 bytes\""));
}

TEST(Server, AnswersOnlyASubprotocolTheClientOffered) {
  ServerProcess server({"--protocol", "chat,superchat"});
  RawClient offers(server.port());
  EXPECT_NE(offers.handshake("Sec-WebSocket-Protocol: superchat, chat\r\n")
                .find("Sec-WebSocket-Protocol: superchat\r\n"),
            std::string::npos);
  RawClient offers_other(server.port());
  EXPECT_EQ(
      offers_other.handshake("Sec-WebSocket-Protocol: mqtt\r\n").find("Sec-WebSocket-Protocol"),
      std::string::npos);
}

struct BadRequest {
  std::string name;
  std::string request;
  std::string expected_status_line;
};

class ServerRejects : public ::testing::TestWithParam<BadRequest> {};

TEST_P(ServerRejects, BadRequestWithItsStatusAndKeepsServing) {
  ServerProcess server;
  {
    RawClient client(server.port());
    client.send(GetParam().request);
    const std::string response = client.read_http_response();
    EXPECT_EQ(response.rfind(GetParam().expected_status_line, 0), 0U) << response;
    EXPECT_TRUE(client.closed_by_server());
  }
  EXPECT_TRUE(server.wait_for_line("#1 rejected"));
  RawClient next(server.port());
  EXPECT_EQ(next.handshake().rfind("HTTP/1.1 101", 0), 0U);
}

const std::string kGoodHeaders =
    "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ServerRejects,
    ::testing::Values(
        BadRequest{"MissingKey",
                   "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   "HTTP/1.1 400 "},
        BadRequest{"WrongVersion",
                   "GET / HTTP/1.1\r\n" + kGoodHeaders + "Sec-WebSocket-Version: 8\r\n\r\n",
                   "HTTP/1.1 426 "},
        BadRequest{"NotGet",
                   "POST / HTTP/1.1\r\n" + kGoodHeaders + "Sec-WebSocket-Version: 13\r\n\r\n",
                   "HTTP/1.1 400 "},
        BadRequest{"Http10",
                   "GET / HTTP/1.0\r\n" + kGoodHeaders + "Sec-WebSocket-Version: 13\r\n\r\n",
                   "HTTP/1.1 400 "},
        BadRequest{"GarbageRequestLine", "HELLO\r\n\r\n", "HTTP/1.1 400 "},
        BadRequest{"HeaderInjection",
                   "GET / HTTP/1.1\r\n" + kGoodHeaders +
                       "Sec-WebSocket-Version: 13\rX-Injected: 1\r\n\r\n",
                   "HTTP/1.1 400 "},
        BadRequest{"OversizedHead",
                   "GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n",
                   "HTTP/1.1 431 "}),
    [](const auto& test) { return test.param.name; });

TEST(Server, VersionRefusalTellsTheVersionItSpeaks) {
  ServerProcess server;
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\n" + kGoodHeaders + "Sec-WebSocket-Version: 8\r\n\r\n");
  EXPECT_NE(client.read_http_response().find("\r\nSec-WebSocket-Version: 13\r\n"),
            std::string::npos);
}

TEST(Server, ServesTheTestPageAtRootAnd404Elsewhere) {
  ServerProcess server;
  RawClient page(server.port());
  page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::string response = page.read_http_response();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0U);
  EXPECT_NE(response.find("Content-Type: text/html"), std::string::npos);
  EXPECT_NE(response.find("<html"), std::string::npos);

  RawClient other(server.port());
  other.send("GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(other.read_http_response().rfind("HTTP/1.1 404 ", 0), 0U);
}

TEST(Server, GivesUpOnARequestThatNeverCompletes) {
  ServerProcess server;
  RawClient client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // no blank line, ever
  const std::string response = client.read_http_response(15s);
  EXPECT_EQ(response.rfind("HTTP/1.1 408 ", 0), 0U) << response;
}

TEST(Server, FailsAnUnmaskedFrameWith1002AndServesTheNextClient) {
  ServerProcess server;
  {
    RawClient client(server.port());
    client.handshake();
    client.send(ws::encode_frame(ws::Opcode::kText, "no mask"));
    EXPECT_EQ(client.read_close_code(), 1002);
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_TRUE(server.wait_for_line("#1 closed 1002 \"unmasked frame from client\""));
  }
  RawClient next(server.port());
  next.handshake();
  next.send(client_frame(ws::Opcode::kText, "still here"));
  EXPECT_EQ(next.read_frame().payload, "still here");
}

TEST(Server, FailsAHugeDeclaredLengthWith1009WithoutWaitingForThePayload) {
  ServerProcess server;
  RawClient client(server.port());
  client.handshake();
  // A masked binary frame claiming 2^63 - 1 bytes, and not one byte of payload.
  client.send(std::string("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14));
  EXPECT_EQ(client.read_close_code(), 1009);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(server.wait_for_line("#1 closed 1009 \"frame over 16777216 bytes\""));
}

TEST(Server, SurvivesAClientThatVanishesMidFrame) {
  ServerProcess server;
  {
    RawClient client(server.port());
    client.handshake();
    client.send(client_frame(ws::Opcode::kText, std::string(1000, 'x')).substr(0, 100));
  }
  EXPECT_TRUE(server.wait_for_line(
      "#1 closed 1006 (abnormal closure: peer closed TCP without a close frame)"));
  RawClient next(server.port());
  EXPECT_EQ(next.handshake().rfind("HTTP/1.1 101", 0), 0U);
}

TEST(Server, StopsWithExitCode0OnSigtermAndSigint) {
  for (const int signal : {SIGTERM, SIGINT}) {
    ServerProcess server;
    RawClient idle(server.port());
    idle.handshake();
    EXPECT_EQ(server.stop(signal), 0);
  }
}

TEST(Server, ListensOnEveryAddressOfLocalhost) {
  ServerProcess server({"--host", "localhost"});
  EXPECT_TRUE(server.wait_for_line("listening on http://localhost:"));
  RawClient client(server.port());  // IPv4 loopback
  EXPECT_EQ(client.handshake().rfind("HTTP/1.1 101", 0), 0U);
}

TEST(Server, ExitsWith2OnAnUnknownFlagOrAPortInUse) {
  const auto [code, output] = ServerProcess::run_to_exit({"--bogus"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("unknown option '--bogus'"), std::string::npos) << output;

  ServerProcess first;
  const auto [busy_code, busy_output] =
      ServerProcess::run_to_exit({"--port", std::to_string(first.port())});
  EXPECT_EQ(busy_code, 2);
  EXPECT_NE(busy_output.find("Address already in use"), std::string::npos) << busy_output;
  EXPECT_EQ(std::count(busy_output.begin(), busy_output.end(), '\n'), 1);
}

TEST(Server, HelpExitsWith0) {
  const auto [code, output] = ServerProcess::run_to_exit({"--help"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(output.find("--port"), std::string::npos);
}

}  // namespace
}  // namespace ws_test

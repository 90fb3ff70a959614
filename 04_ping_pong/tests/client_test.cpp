// Integration tests of the client (src/client.hpp): against the stage's real echo server, and
// against fake servers written in the test, which send exactly the bytes a rule is about and
// record exactly the bytes the client sends (RFC 6455 §4.1, §5.1-§5.5, §7).
#include "client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "close.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "http.hpp"
#include "mask.hpp"
#include "server_process.hpp"
#include "socket.hpp"

namespace ws_test {
namespace {

using ws::Client;
using ws::CloseError;
using ws::Opcode;

std::string url_for(std::uint16_t port, const std::string& path = "/") {
  return "ws://127.0.0.1:" + std::to_string(port) + path;
}

ws::Deadline in(std::chrono::milliseconds duration) { return ws::Clock::now() + duration; }

// `size` bytes: printable ASCII for text, every byte value in turn for binary.
std::string make_payload(std::size_t size, Opcode type) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = type == Opcode::kText ? static_cast<char>('a' + i % 26)
                                       : static_cast<char>(static_cast<std::uint8_t>(i * 7));
  }
  return payload;
}

// ---------------------------------------------------------------------------------------------
// A fake server: a listening socket on 127.0.0.1 (port 0) whose one accepted connection is
// handed to a test's script on a thread. Every read has a deadline, so a test never hangs.

// A frame as a client sent it, unmasked.
struct ClientFrame {
  ws::FrameHeader header;
  std::string payload;  // unmasked
  std::string wire;     // the bytes as they arrived
};

class FakePeer {
 public:
  explicit FakePeer(ws::Fd socket) : socket_(std::move(socket)) {}

  void send(std::string_view bytes) const {
    ASSERT_EQ(ws::write_all(socket_.get(), bytes), ws::IoStatus::kOk);
  }

  // Reads the request head the client sent and returns it parsed.
  ws::HttpRequest read_request(std::chrono::milliseconds timeout = 5s) {
    const ws::Deadline deadline = in(timeout);
    while (!ws::find_head_end(buffer_)) {
      if (!fill(deadline)) {
        throw std::runtime_error("fake server: connection ended before the request head");
      }
    }
    const std::size_t size = *ws::find_head_end(buffer_);
    std::string error;
    auto request = ws::parse_request(std::string_view(buffer_).substr(0, size), error);
    buffer_.erase(0, size);
    if (!request) {
      throw std::runtime_error("fake server: bad request: " + error);
    }
    return *request;
  }

  // Reads the request and answers it with a correct 101 plus `extra_fields` (full lines).
  ws::HttpRequest accept(const std::string& extra_fields = {}) {
    ws::HttpRequest request = read_request();
    send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::compute_accept_key(request.header("Sec-WebSocket-Key").value_or("")) + "\r\n" +
        extra_fields + "\r\n");
    return request;
  }

  // Reads one frame from the client.
  ClientFrame read_frame(std::chrono::milliseconds timeout = 5s) {
    const ws::Deadline deadline = in(timeout);
    ClientFrame frame;
    std::size_t head_size = 0;
    while ((head_size = ws::decode_frame_header(buffer_, frame.header)) == 0 ||
           buffer_.size() - head_size < frame.header.payload_length) {
      if (!fill(deadline)) {
        throw std::runtime_error("fake server: connection ended inside a frame");
      }
    }
    const auto size = static_cast<std::size_t>(frame.header.payload_length);
    frame.wire = buffer_.substr(0, head_size + size);
    frame.payload = buffer_.substr(head_size, size);
    if (frame.header.masked) {
      ws::apply_mask(frame.payload, frame.header.masking_key);
    }
    buffer_.erase(0, head_size + size);
    return frame;
  }

  // True if the client closes TCP within `timeout` (bytes arriving meanwhile are dropped).
  bool closed_by_client(std::chrono::milliseconds timeout = 5s) {
    const ws::Deadline deadline = in(timeout);
    while (true) {
      std::array<char, 4096> chunk{};
      std::size_t received = 0;
      const ws::IoStatus status = ws::read_some(socket_.get(), chunk, received, deadline, -1);
      if (status == ws::IoStatus::kTimeout) {
        return false;
      }
      if (status != ws::IoStatus::kOk) {
        return true;
      }
    }
  }

  void close() { socket_ = ws::Fd(); }

 private:
  bool fill(ws::Deadline deadline) {
    std::array<char, 65536> chunk{};
    std::size_t received = 0;
    const ws::IoStatus status = ws::read_some(socket_.get(), chunk, received, deadline, -1);
    if (status == ws::IoStatus::kTimeout) {
      throw std::runtime_error("fake server: timed out waiting for the client");
    }
    if (status != ws::IoStatus::kOk) {
      return false;
    }
    buffer_.append(chunk.data(), received);
    return true;
  }

  ws::Fd socket_;
  std::string buffer_;
};

class FakeServer {
 public:
  explicit FakeServer(std::function<void(FakePeer&)> script) {
    auto sockets = ws::listen_tcp("127.0.0.1", 0);
    listener_ = std::move(sockets.front());
    port_ = ws::local_port(listener_.get());
    thread_ = std::thread([this, script = std::move(script)] {
      try {
        pollfd p{listener_.get(), POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) {
          throw std::runtime_error("fake server: no connection within 5 s");
        }
        FakePeer peer(ws::Fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC)));
        script(peer);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;
  ~FakeServer() { join(); }

  // Waits for the script to finish, so that what it recorded can be read.
  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  [[nodiscard]] std::string url(const std::string& path = "/") const {
    return url_for(port_, path);
  }

 private:
  ws::Fd listener_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// The frame a server sends: unmasked unless a key is given.
std::string server_frame(Opcode opcode, std::string_view payload,
                         std::optional<ws::MaskingKey> key = std::nullopt) {
  return ws::encode_frame(opcode, payload, true, key);
}

// The what() of the exception `dial` throws, or "" if it throws none.
std::string dial_error(const std::string& url, const ws::DialOptions& options = {}) {
  try {
    Client::dial(url, options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Against the stage's echo server

TEST(Client, EchoesTextAndBinaryOfEveryLengthFormByteExactly) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  // §5.2: 0 and 125 use the 7-bit length, 126 and 65535 the 16-bit one, 65536 and 4 MiB the
  // 64-bit one.
  for (const std::size_t size : {0UL, 125UL, 126UL, 65535UL, 65536UL, 4UL * 1024 * 1024}) {
    for (const Opcode type : {Opcode::kText, Opcode::kBinary}) {
      SCOPED_TRACE(std::to_string(size) + (type == Opcode::kText ? " bytes of text" : " binary"));
      const std::string payload = make_payload(size, type);
      if (type == Opcode::kText) {
        client.send_text(payload);
      } else {
        client.send_binary(payload);
      }
      const ws::Message echo = client.read_message(in(10s));
      EXPECT_EQ(echo.type, type);
      EXPECT_EQ(echo.payload.size(), size);
      EXPECT_TRUE(echo.payload == payload) << "payload differs";
    }
  }
  EXPECT_EQ(client.close().code, 1000);
}

TEST(Client, PingIsAnsweredWithAPongCarryingTheSamePayload) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  EXPECT_EQ(client.last_pong(), std::nullopt);
  client.ping("are you there?");
  // The server answers in order, so the pong is read before the echo of a later message.
  client.send_text("after the ping");
  EXPECT_EQ(client.read_message(in(5s)).payload, "after the ping");
  EXPECT_EQ(client.last_pong(), "are you there?");
  EXPECT_THROW(client.ping(std::string(126, 'x')), std::invalid_argument);
}

TEST(Client, CloseReturnsTheCodeTheServerEchoes) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  const ws::CloseStatus reply = client.close({1000, "bye"});
  EXPECT_EQ(reply.code, 1000);
  EXPECT_TRUE(server.wait_for_line(R"(closed 1000 "bye" (initiated by client))"));
  // The connection is over: reading reports how it ended, sending is refused.
  try {
    client.read_message(in(1s));
    ADD_FAILURE() << "read_message after close() did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 1000);
    EXPECT_TRUE(end.was_clean);
  }
  EXPECT_THROW(client.send_text("too late"), std::runtime_error);
  EXPECT_EQ(client.close().code, 1000);
}

TEST(Client, ServerShutdownEndsReadMessageWithCleanCloseError1001) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  ASSERT_TRUE(server.wait_for_line("#1 upgraded"));
  ::kill(server.pid(), SIGTERM);
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 1001);
    EXPECT_EQ(end.status.reason, "server shutting down");
    EXPECT_TRUE(end.was_clean);
    EXPECT_STREQ(end.what(), R"(closed 1001 "server shutting down")");
  }
  EXPECT_TRUE(server.wait_for_line("client replied 1001"));
  EXPECT_EQ(server.stop(), 0);
}

TEST(Client, OneThreadReadsWhileAnotherSends) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  constexpr int kMessages = 2000;
  std::thread sender([&] {
    for (int i = 0; i < kMessages; ++i) {
      client.send_text("message " + std::to_string(i));
      if (i % 100 == 0) {
        client.ping(std::to_string(i));
      }
    }
  });
  for (int i = 0; i < kMessages; ++i) {
    const ws::Message echo = client.read_message(in(10s));
    ASSERT_EQ(echo.payload, "message " + std::to_string(i));
  }
  sender.join();
  EXPECT_EQ(client.last_pong(), "1900");
  EXPECT_EQ(client.close().code, 1000);
}

TEST(Client, SendCloseFromAnotherThreadEndsReadMessageWithTheReply) {
  ServerProcess server;
  Client client = Client::dial(url_for(server.port()));
  std::thread closer([&] {
    client.send_text("last words");
    client.send_close({4000, "done"});
    EXPECT_THROW(client.send_text("after close"), std::runtime_error);
  });
  // A message the server sent before it saw our close frame is still delivered.
  EXPECT_EQ(client.read_message(in(5s)).payload, "last words");
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 4000);
    EXPECT_TRUE(end.was_clean);
  }
  closer.join();
  EXPECT_TRUE(server.wait_for_line(R"(closed 4000 "done" (initiated by client))"));
}

TEST(Client, MessageOverTheLimitFailsTheConnectionWith1009) {
  ServerProcess server;
  ws::DialOptions options;
  options.limits = {1024, 1024};
  Client client = Client::dial(url_for(server.port()), options);
  client.send_binary(std::string(1024, 'x'));
  EXPECT_EQ(client.read_message(in(5s)).payload.size(), 1024U);
  client.send_binary(std::string(1025, 'x'));
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 1009);
    EXPECT_FALSE(end.was_clean);
  }
  EXPECT_TRUE(server.wait_for_line("closed 1009"));
}

// ---------------------------------------------------------------------------------------------
// URLs and dialing

TEST(ClientUrl, ParsesWsUrls) {
  const std::vector<std::pair<std::string, ws::WsUrl>> cases = {
      {"ws://127.0.0.1:1337/", {"127.0.0.1", 1337, "/"}},
      {"ws://localhost", {"localhost", 80, "/"}},
      {"ws://localhost:/", {"localhost", 80, "/"}},
      {"WS://Example.com:8080/chat?room=1&x=y", {"Example.com", 8080, "/chat?room=1&x=y"}},
      {"ws://example.com?room=1", {"example.com", 80, "/?room=1"}},
      {"ws://[::1]:9000/a/b", {"::1", 9000, "/a/b"}},
      {"ws://[::1]", {"::1", 80, "/"}},
      {"ws://host:65535/x", {"host", 65535, "/x"}},
  };
  for (const auto& [url, expected] : cases) {
    SCOPED_TRACE(url);
    EXPECT_EQ(ws::parse_ws_url(url), expected);
  }
}

TEST(ClientUrl, RejectsOtherUrlsWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wss://example.com/", "wss:// (WebSocket over TLS) is not supported: use ws://"},
      {"http://example.com/", R"(unsupported scheme "http")"},
      {"example.com:80", "not a URL"},
      {"ws://", "missing host"},
      {"ws://:1337/", "missing host"},
      {"ws://host:0/", R"(bad port "0": expected a number from 1 to 65535)"},
      {"ws://host:65536/", R"(bad port "65536")"},
      {"ws://host:123456/", R"(bad port "123456")"},
      {"ws://host:http/", R"(bad port "http")"},
      {"ws://host:-1/", R"(bad port "-1")"},
      {"ws://::1/", "an IPv6 address must be in brackets"},
      {"ws://[::1/", "unterminated IPv6 address"},
      {"ws://[::1]x/", "unexpected text after the IPv6 address"},
      {"ws://host/#top", "must not have a fragment"},
      {"ws://user@host/", "user information"},
      {"ws://host/a b", "contains a space"},
  };
  for (const auto& [url, reason] : cases) {
    SCOPED_TRACE(url);
    try {
      ws::parse_ws_url(url);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  }
}

TEST(Client, DialToAClosedPortThrows) {
  // A socket bound but not listening: its port is ours, and connecting to it is refused.
  const ws::Fd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(bound.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::uint16_t port = ws::local_port(bound.get());
  EXPECT_EQ(dial_error(url_for(port)),
            "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  EXPECT_THROW(Client::dial("wss://127.0.0.1/"), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Against fake servers

TEST(Client, SendsTheOpeningHandshakeOfSection4_1) {
  ws::HttpRequest request;
  FakeServer server([&](FakePeer& peer) {
    request = peer.accept("Sec-WebSocket-Protocol: superchat\r\n");
    EXPECT_EQ(peer.read_frame().header.opcode, static_cast<std::uint8_t>(Opcode::kClose));
  });
  ws::DialOptions options;
  options.subprotocols = {"chat", "superchat"};
  options.headers = {{"Origin", "http://127.0.0.1"}};
  Client client = Client::dial(server.url("/chat?room=1"), options);
  EXPECT_EQ(client.subprotocol(), "superchat");
  client.send_close();
  server.join();

  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/chat?room=1");
  EXPECT_EQ(request.version, "HTTP/1.1");
  EXPECT_EQ(request.header("Host"), server.url().substr(5, server.url().size() - 6));
  EXPECT_TRUE(request.has_token("Upgrade", "websocket"));
  EXPECT_TRUE(request.has_token("Connection", "Upgrade"));
  EXPECT_TRUE(ws::is_valid_key(request.header("Sec-WebSocket-Key").value_or("")));
  EXPECT_EQ(request.header("Sec-WebSocket-Version"), "13");
  EXPECT_EQ(request.header_tokens("Sec-WebSocket-Protocol"),
            (std::vector<std::string>{"chat", "superchat"}));
  EXPECT_EQ(request.header("Origin"), "http://127.0.0.1");
}

TEST(Client, DialReportsAnHttpRefusalWithItsStatus) {
  FakeServer server([](FakePeer& peer) {
    peer.read_request();
    peer.send(
        "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n");
  });
  EXPECT_EQ(dial_error(server.url()), "handshake failed: HTTP 426 Upgrade Required");
}

TEST(Client, DialRejectsAWrongSecWebSocketAccept) {
  FakeServer server([](FakePeer& peer) {
    peer.read_request();
    // The accept value of the RFC's sample key, not of the key the client sent.
    peer.send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  });
  EXPECT_EQ(dial_error(server.url()), "handshake failed: wrong Sec-WebSocket-Accept");
}

TEST(Client, DialRejectsEveryOtherBadResponseNamingTheCheck) {
  struct Case {
    std::string response_fields;  // sent after the status line, with the right accept value
    std::string error;
  };
  const std::vector<Case> cases = {
      {"Connection: Upgrade\r\n", "handshake failed: missing Upgrade: websocket"},
      {"Upgrade: h2c\r\nConnection: Upgrade\r\n", "handshake failed: missing Upgrade: websocket"},
      {"Upgrade: websocket\r\nConnection: keep-alive\r\n",
       "handshake failed: missing Connection: Upgrade"},
      {"Upgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\nSec-WebSocket-Protocol: chat\r\n",
       R"(handshake failed: server chose subprotocol "chat" that was not offered)"},
      {"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: "
       "permessage-deflate\r\n",
       R"(handshake failed: server chose extension "permessage-deflate" that was not offered)"},
  };
  for (const auto& [fields, error] : cases) {
    SCOPED_TRACE(fields);
    FakeServer server([&fields = fields](FakePeer& peer) {
      const ws::HttpRequest request = peer.read_request();
      peer.send("HTTP/1.1 101 Switching Protocols\r\n" + fields + "Sec-WebSocket-Accept: " +
                ws::compute_accept_key(request.header("Sec-WebSocket-Key").value_or("")) +
                "\r\n\r\n");
    });
    EXPECT_EQ(dial_error(server.url()), error);
  }

  FakeServer missing_accept([](FakePeer& peer) {
    peer.read_request();
    peer.send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  });
  EXPECT_EQ(dial_error(missing_accept.url()), "handshake failed: missing Sec-WebSocket-Accept");

  FakeServer not_http([](FakePeer& peer) {
    peer.read_request();
    peer.send("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  });
  EXPECT_EQ(dial_error(not_http.url()),
            R"(handshake failed: malformed status line "SSH-2.0-OpenSSH_9.2")");

  FakeServer hangs_up([](FakePeer& peer) { peer.read_request(); });
  EXPECT_EQ(dial_error(hangs_up.url()),
            "handshake failed: the server closed the connection without a response");

  FakeServer silent([](FakePeer& peer) {
    peer.read_request();
    EXPECT_TRUE(peer.closed_by_client());
  });
  ws::DialOptions quick;
  quick.timeout = 300ms;
  EXPECT_EQ(dial_error(silent.url(), quick), "handshake failed: no response within 300 ms");
}

TEST(Client, KeepsFramesPipelinedBehindThe101) {
  FakeServer server([](FakePeer& peer) {
    const ws::HttpRequest request = peer.read_request();
    // The response and two frames in one write, so they reach the client together.
    peer.send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::compute_accept_key(request.header("Sec-WebSocket-Key").value_or("")) + "\r\n\r\n" +
        server_frame(Opcode::kText, "right behind the 101") +
        server_frame(Opcode::kBinary, std::string(3, '\0')));
    EXPECT_TRUE(peer.closed_by_client());
  });
  Client client = Client::dial(server.url());
  EXPECT_EQ(client.read_message(in(5s)), (ws::Message{Opcode::kText, "right behind the 101"}));
  EXPECT_EQ(client.read_message(in(5s)), (ws::Message{Opcode::kBinary, std::string(3, '\0')}));
}

TEST(Client, MaskedServerFrameFailsTheConnectionWith1002) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    // §5.1: "A client MUST close a connection if it detects a masked frame."
    peer.send(server_frame(Opcode::kText, "masked", ws::MaskingKey{1, 2, 3, 4}));
    const ClientFrame close = peer.read_frame();
    EXPECT_EQ(close.header.opcode, static_cast<std::uint8_t>(Opcode::kClose));
    EXPECT_TRUE(close.header.masked);
    EXPECT_EQ(ws::parse_close_payload(close.payload).received.code, 1002);
    peer.close();
  });
  Client client = Client::dial(server.url());
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 1002);
    EXPECT_EQ(end.status.reason, "masked frame from server");
    EXPECT_FALSE(end.was_clean);
  }
}

TEST(Client, InvalidUtf8FromTheServerFailsTheConnectionWith1007) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    peer.send(server_frame(Opcode::kText, "caf\xC3"));  // ends inside a 2-byte sequence
    EXPECT_EQ(ws::parse_close_payload(peer.read_frame().payload).received.code, 1007);
    peer.close();
  });
  Client client = Client::dial(server.url());
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status.code, 1007);
    EXPECT_FALSE(end.was_clean);
  }
}

TEST(Client, AnswersAServerPingWithAMaskedPongOfTheSamePayload) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    peer.send(server_frame(Opcode::kPing, "heartbeat 1"));
    const ClientFrame pong = peer.read_frame();
    EXPECT_EQ(pong.header.opcode, static_cast<std::uint8_t>(Opcode::kPong));
    EXPECT_TRUE(pong.header.masked);
    EXPECT_EQ(pong.payload, "heartbeat 1");
    peer.send(server_frame(Opcode::kPong, "unsolicited") + server_frame(Opcode::kText, "done"));
    EXPECT_TRUE(peer.closed_by_client());
  });
  Client client = Client::dial(server.url());
  EXPECT_EQ(client.read_message(in(5s)).payload, "done");
  EXPECT_EQ(client.last_pong(), "unsolicited");
}

TEST(Client, AnswersTheServersCloseWithTheSameCodeAndWaitsForItsTcpClose) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    peer.send(server_frame(Opcode::kClose, ws::encode_close_payload({4001, "custom"})));
    const ClientFrame reply = peer.read_frame();
    EXPECT_EQ(reply.header.opcode, static_cast<std::uint8_t>(Opcode::kClose));
    EXPECT_EQ(ws::parse_close_payload(reply.payload).received.code, 4001);
    // §7.1.1: the server closes TCP first; the client must not have closed it already.
    EXPECT_FALSE(peer.closed_by_client(200ms));
    peer.close();
  });
  Client client = Client::dial(server.url());
  try {
    client.read_message(in(10s));
    ADD_FAILURE() << "read_message did not throw";
  } catch (const CloseError& end) {
    EXPECT_EQ(end.status, (ws::CloseStatus{4001, "custom"}));
    EXPECT_TRUE(end.was_clean);
  }
}

TEST(Client, TcpEndWithoutACloseFrameIsCloseError1006) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    peer.close();
  });
  Client client = Client::dial(server.url());
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second read repeats the outcome
    try {
      client.read_message(in(10s));
      ADD_FAILURE() << "read_message did not throw";
    } catch (const CloseError& end) {
      EXPECT_EQ(end.status.code, 1006);
      EXPECT_FALSE(end.was_clean);
    }
  }
  EXPECT_THROW(client.send_text("anyone?"), std::runtime_error);
}

TEST(Client, MasksEveryFrameWithAFreshKey) {
  constexpr int kFrames = 32;
  std::vector<ClientFrame> frames;
  FakeServer server([&](FakePeer& peer) {
    peer.accept();
    for (int i = 0; i < kFrames + 2; ++i) {
      frames.push_back(peer.read_frame());
    }
  });
  {
    Client client = Client::dial(server.url());
    for (int i = 0; i < kFrames; ++i) {
      client.send_text("the same payload every time");
    }
    client.send_binary(std::string(200, '\0'));
    client.ping("ping");
  }
  server.join();
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(kFrames + 2));
  std::set<ws::MaskingKey> keys;
  std::set<std::string> wire;
  for (const ClientFrame& frame : frames) {
    EXPECT_TRUE(frame.header.masked) << "§5.1: a client masks every frame";
    keys.insert(frame.header.masking_key);
    wire.insert(frame.wire);
  }
  EXPECT_EQ(frames[0].payload, "the same payload every time");
  EXPECT_EQ(frames[kFrames].payload, std::string(200, '\0'));
  // 34 random 32-bit keys collide with a probability of about 1.4e-7.
  EXPECT_EQ(keys.size(), frames.size());
  EXPECT_EQ(wire.size(), frames.size()) << "the same payload never looks the same on the wire";
}

TEST(Client, CloseGivesUpOnASilentServerAfterKCloseTimeout) {
  FakeServer server([](FakePeer& peer) {
    peer.accept();
    EXPECT_EQ(peer.read_frame().header.opcode, static_cast<std::uint8_t>(Opcode::kClose));
    // No reply: the client must stop waiting on its own.
    EXPECT_TRUE(peer.closed_by_client(10s));
  });
  Client client = Client::dial(server.url());
  const auto start = ws::Clock::now();
  const ws::CloseStatus status = client.close();
  const auto waited = ws::Clock::now() - start;
  EXPECT_EQ(status.code, 1006);
  EXPECT_GE(waited, Client::kCloseTimeout - 100ms);
  EXPECT_LT(waited, Client::kCloseTimeout + 2s);
}

}  // namespace
}  // namespace ws_test

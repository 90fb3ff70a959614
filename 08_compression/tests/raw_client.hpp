// Test helper: a plain TCP client on loopback that speaks WebSocket by hand, byte by byte when
// asked, so tests can send exactly the bytes a rule is about (including wrong ones).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "frame.hpp"

namespace ws_test {

using namespace std::chrono_literals;

/// A frame as the server sent it.
struct ServerFrame {
  bool fin = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;
};

/// A connected loopback TCP client. Every read has a deadline: a test never hangs.
/// Reads throw std::runtime_error on timeout or when the connection ends early.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient();

  /// Sends all of `bytes`; throws std::runtime_error if the server has closed the connection.
  void send(std::string_view bytes) const;
  /// Sends `bytes` one at a time with `pause` between them.
  void send_byte_by_byte(std::string_view bytes, std::chrono::milliseconds pause = 1ms) const;

  /// Reads an HTTP response (head, and a body of Content-Length bytes) and returns it whole.
  std::string read_http_response(std::chrono::milliseconds timeout = 5s);
  /// Sends a valid opening handshake for `path` with `extra_headers` (full lines with CRLF),
  /// and returns the server's response head.
  std::string handshake(const std::string& extra_headers = {}, const std::string& path = "/");
  /// Reads one frame from the server.
  ServerFrame read_frame(std::chrono::milliseconds timeout = 5s);
  /// Reads frames until a close frame arrives (skipping the greetings) and returns its status
  /// code, 1005 for an empty close. Throws if the connection ends first.
  std::uint16_t read_close_code(std::chrono::milliseconds timeout = 5s);
  /// True if the server closes the connection (EOF or reset) within `timeout` after the bytes
  /// already buffered; data that arrives meanwhile is discarded. Like any real client, we then
  /// close our end too.
  bool closed_by_server(std::chrono::milliseconds timeout = 5s);

  /// Closes the socket at once, without any WebSocket close handshake.
  void close_abruptly();
  /// Shuts both directions down without closing the descriptor: a send or read blocked in another
  /// thread returns with an error. Safe to call while another thread uses the client.
  void shutdown_both() const;

 private:
  // Reads more bytes into buffer_; false on EOF/error; throws on timeout.
  bool fill(std::chrono::steady_clock::time_point deadline);
  std::string take(std::size_t n, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

/// A client frame, masked as RFC 6455 §5.3 requires, with a fixed masking key.
std::string client_frame(ws::Opcode opcode, std::string_view payload, bool fin = true);

}  // namespace ws_test

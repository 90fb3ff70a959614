// Test helper: a hand-driven WebSocket client over loopback TCP.
#include "raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <thread>

namespace ws_test {

RawClient::RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
}

RawClient::~RawClient() { close_abruptly(); }

void RawClient::close_abruptly() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void RawClient::shutdown_both() const { ::shutdown(fd_, SHUT_RDWR); }

void RawClient::send(std::string_view bytes) const {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      throw std::runtime_error("send failed: the server closed the connection");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RawClient::send_byte_by_byte(std::string_view bytes, std::chrono::milliseconds pause) const {
  for (const char c : bytes) {
    send(std::string_view(&c, 1));
    std::this_thread::sleep_for(pause);
  }
}

bool RawClient::fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{fd_, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
    throw std::runtime_error("timed out waiting for the server");
  }
  std::array<char, std::size_t{16} * 1024> chunk{};
  const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
  if (n <= 0) {
    return false;
  }
  buffer_.append(chunk.data(), static_cast<std::size_t>(n));
  return true;
}

std::string RawClient::take(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  while (buffer_.size() < n) {
    if (!fill(deadline)) {
      throw std::runtime_error("connection closed by the server");
    }
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

std::string RawClient::read_http_response(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end = 0;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) {
      throw std::runtime_error("connection closed before the response head ended");
    }
  }
  std::string head = take(head_end + 4, deadline);
  std::size_t body_size = 0;
  if (const auto at = head.find("Content-Length: "); at != std::string::npos) {
    body_size = std::stoul(head.substr(at + 16));
  }
  return head + take(body_size, deadline);
}

std::string RawClient::handshake(const std::string& extra_headers, const std::string& path) {
  send("GET " + path +
       " HTTP/1.1\r\n"
       "Host: 127.0.0.1\r\n"
       "Upgrade: websocket\r\n"
       "Connection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Version: 13\r\n" +
       extra_headers + "\r\n");
  return read_http_response();
}

ServerFrame RawClient::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ws::FrameHeader header;
  std::size_t header_size = 0;
  while ((header_size = ws::decode_frame_header(buffer_, header)) == 0) {
    if (!fill(deadline)) {
      throw std::runtime_error("connection closed while waiting for a frame");
    }
  }
  buffer_.erase(0, header_size);
  ServerFrame frame{header.fin, header.opcode, header.masked, {}};
  frame.payload = take(header.payload_length, deadline);
  return frame;
}

std::uint16_t RawClient::read_close_code(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const ServerFrame frame = read_frame(left);
    if (frame.opcode != static_cast<std::uint8_t>(ws::Opcode::kClose)) {
      continue;
    }
    if (frame.payload.size() < 2) {
      return 1005;
    }
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(frame.payload[0]) << 8U) |
                                      static_cast<std::uint8_t>(frame.payload[1]));
  }
}

bool RawClient::closed_by_server(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  buffer_.clear();
  try {
    while (fill(deadline)) {
      buffer_.clear();
    }
    close_abruptly();
    return true;
  } catch (const std::runtime_error&) {
    return false;  // still open at the deadline
  }
}

std::string client_frame(ws::Opcode opcode, std::string_view payload, bool fin) {
  return ws::encode_frame(opcode, payload, fin, ws::MaskingKey{0x12, 0x34, 0x56, 0x78});
}

}  // namespace ws_test

// The tester's own client: opening handshake (RFC 6455 §4.1, §4.2.2), byte-exact frame
// encoding including invalid frames (§5.2, §5.3), and deadline-bounded reading of server frames.
#include "wire.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace tester {
namespace {

using std::chrono::milliseconds;

// RFC 6455 §1.3 / §4.2.2: appended to the client's key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Bounds on what we accept from the server, so a broken server cannot exhaust memory: the largest
// message the tester sends is 16 MiB + 1 byte, echoed at most once per frame.
constexpr std::uint64_t kMaxServerFrame = std::uint64_t{32} * 1024 * 1024;
constexpr std::size_t kMaxHttpHead = std::size_t{16} * 1024;
constexpr std::size_t kReadChunk = std::size_t{256} * 1024;

// Masking keys differ from frame to frame (and are never all zero), so a server that reuses a
// previous frame's key, or forgets to unmask, corrupts the echo and is caught.
std::array<std::uint8_t, 4> next_masking_key() {
  static std::uint32_t state = 0x9e3779b9U;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  std::array<std::uint8_t, 4> key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<std::uint8_t>((state >> (8 * i)) | 0x01U);
  }
  return key;
}

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  return static_cast<int>(std::min<long long>(left, 60'000));
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) {
             return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
           };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// True if the comma-separated header value contains `token` (case-insensitive), as RFC 6455
// §4.1 requires for Connection: Upgrade.
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

FrameSpec make_frame(std::uint8_t op, std::string payload, bool fin) {
  FrameSpec spec;
  spec.opcode = op;
  spec.fin = fin;
  spec.payload = std::move(payload);
  spec.masking_key = next_masking_key();
  return spec;
}

}  // namespace

const char* to_string(ReadStatus status) {
  switch (status) {
    case ReadStatus::kFrame:
      return "frame";
    case ReadStatus::kEndOfStream:
      return "end of stream";
    case ReadStatus::kReset:
      return "connection reset";
    case ReadStatus::kTimeout:
      return "timeout";
    case ReadStatus::kMalformed:
      return "malformed frame";
  }
  return "?";
}

std::string encode_frame(const FrameSpec& spec) {
  const std::uint64_t length = spec.declared_length.value_or(spec.payload.size());
  std::string out;
  out.reserve(14 + spec.payload.size());
  out.push_back(static_cast<char>((spec.fin ? 0x80U : 0U) | ((spec.rsv & 0x7U) << 4) |
                                  (spec.opcode & 0x0FU)));
  const unsigned mask_bit = spec.masked ? 0x80U : 0U;
  LengthEncoding encoding = spec.length_encoding;
  if (encoding == LengthEncoding::kMinimal) {
    encoding = length < 126     ? LengthEncoding::kMinimal
               : length < 65536 ? LengthEncoding::k16Bit
                                : LengthEncoding::k64Bit;
  }
  switch (encoding) {
    case LengthEncoding::kMinimal:
      out.push_back(static_cast<char>(mask_bit | static_cast<unsigned>(length)));
      break;
    case LengthEncoding::k16Bit:
      out.push_back(static_cast<char>(mask_bit | 126U));
      out.push_back(static_cast<char>((length >> 8) & 0xFFU));
      out.push_back(static_cast<char>(length & 0xFFU));
      break;
    case LengthEncoding::k64Bit:
      out.push_back(static_cast<char>(mask_bit | 127U));
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((length >> shift) & 0xFFU));
      }
      break;
  }
  if (!spec.masked) {
    out += spec.payload;
    return out;
  }
  for (const std::uint8_t byte : spec.masking_key) {
    out.push_back(static_cast<char>(byte));
  }
  // RFC 6455 §5.3: octet i of the payload is XORed with octet (i mod 4) of the masking key.
  for (std::size_t i = 0; i < spec.payload.size(); ++i) {
    out.push_back(
        static_cast<char>(static_cast<std::uint8_t>(spec.payload[i]) ^ spec.masking_key[i % 4]));
  }
  return out;
}

FrameSpec text_frame(std::string payload, bool fin) {
  return make_frame(opcode::kText, std::move(payload), fin);
}
FrameSpec binary_frame(std::string payload, bool fin) {
  return make_frame(opcode::kBinary, std::move(payload), fin);
}
FrameSpec continuation_frame(std::string payload, bool fin) {
  return make_frame(opcode::kContinuation, std::move(payload), fin);
}
FrameSpec ping_frame(std::string payload) {
  return make_frame(opcode::kPing, std::move(payload), true);
}
FrameSpec pong_frame(std::string payload) {
  return make_frame(opcode::kPong, std::move(payload), true);
}
FrameSpec close_frame(std::uint16_t code, std::string_view reason) {
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFFU));
  body += reason;
  return make_frame(opcode::kClose, std::move(body), true);
}
FrameSpec empty_close_frame() { return make_frame(opcode::kClose, {}, true); }

std::vector<FrameSpec> fragment_message(std::uint8_t first_opcode, std::string_view payload,
                                        std::size_t fragment_size) {
  std::vector<FrameSpec> frames;
  std::size_t offset = 0;
  do {
    const std::size_t size = std::min(fragment_size, payload.size() - offset);
    const bool last = offset + size == payload.size();
    frames.push_back(make_frame(frames.empty() ? first_opcode : opcode::kContinuation,
                                std::string(payload.substr(offset, size)), last));
    offset += size;
  } while (offset < payload.size());
  return frames;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::string websocket_accept_for(std::string_view key) {
  const std::string input = std::string(key) + std::string(kAcceptGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) !=
      1) {
    throw std::runtime_error("OpenSSL SHA-1 failed");
  }
  return base64(digest.data(), digest_size);
}

std::string make_websocket_key() {
  static std::mt19937 generator{std::random_device{}()};
  std::array<unsigned char, 16> nonce{};
  for (unsigned char& byte : nonce) {
    byte = static_cast<unsigned char>(generator() & 0xFFU);
  }
  return base64(nonce.data(), nonce.size());
}

WireClient::WireClient(int fd, ServerAddress address) : fd_(fd), address_(std::move(address)) {}

WireClient::WireClient(WireClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(std::move(other.address_)),
      rx_(std::move(other.rx_)),
      rx_pos_(other.rx_pos_),
      eof_(other.eof_),
      failed_(other.failed_) {}

WireClient& WireClient::operator=(WireClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    address_ = std::move(other.address_);
    rx_ = std::move(other.rx_);
    rx_pos_ = other.rx_pos_;
    eof_ = other.eof_;
    failed_ = other.failed_;
  }
  return *this;
}

WireClient::~WireClient() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

WireClient WireClient::connect(const ServerAddress& address, Deadline deadline) {
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(address.port);
  if (inet_pton(AF_INET, address.host.c_str(), &target.sin_addr) != 1 ||
      (ntohl(target.sin_addr.s_addr) >> 24) != 127) {
    throw std::runtime_error("refusing to connect to non-loopback host " + address.host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(std::string("socket: ") + std::generic_category().message(errno));
  }
  WireClient client(fd, address);
  // Small chunks must leave as separate segments for the byte-by-byte cases.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
    if (errno != EINPROGRESS) {
      throw std::runtime_error("connect to " + address.host + ":" + std::to_string(address.port) +
                               ": " + std::generic_category().message(errno));
    }
    pollfd waiter{fd, POLLOUT, 0};
    const int ready = ::poll(&waiter, 1, remaining_ms(deadline));
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (ready <= 0 || error != 0) {
      throw std::runtime_error("connect to " + address.host + ":" + std::to_string(address.port) +
                               ": " +
                               (ready <= 0 ? "timed out" : std::generic_category().message(error)));
    }
  }
  return client;
}

std::string WireClient::build_request(const UpgradeRequest& request, std::string* key_out) const {
  std::string key;
  if (request.send_key) {
    key = request.key.value_or(make_websocket_key());
  }
  if (key_out != nullptr) {
    *key_out = key;
  }
  std::string out = request.method + " " + request.target + " " + request.http_version + "\r\n";
  out += "Host: " + request.host.value_or(address_.host + ":" + std::to_string(address_.port)) +
         "\r\n";
  if (request.upgrade) {
    out += "Upgrade: " + *request.upgrade + "\r\n";
  }
  if (request.connection) {
    out += "Connection: " + *request.connection + "\r\n";
  }
  if (request.send_key) {
    out += "Sec-WebSocket-Key: " + key + "\r\n";
  }
  if (request.version) {
    out += "Sec-WebSocket-Version: " + *request.version + "\r\n";
  }
  for (const auto& [name, value] : request.extra_headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  return out;
}

std::string WireClient::open_handshake(const UpgradeRequest& request_fields, Deadline deadline,
                                       HttpResponse* response_out) {
  std::string key;
  const std::string request = build_request(request_fields, &key);
  if (!send_bytes(request, SendPlan{}, deadline)) {
    return "could not send the upgrade request";
  }
  std::string error;
  const auto response = read_http_response(deadline, &error);
  if (!response) {
    return "no handshake response: " + error;
  }
  if (response_out != nullptr) {
    *response_out = *response;
  }
  if (response->status != 101) {
    return "expected status 101, got " + std::to_string(response->status) + " " + response->reason;
  }
  // RFC 6455 §4.1, items 2-6 of the client's checks on the server's handshake.
  const auto upgrade = response->header("Upgrade");
  if (!upgrade || !iequals(trim(*upgrade), "websocket")) {
    return "101 without Upgrade: websocket";
  }
  const auto connection = response->header("Connection");
  if (!connection || !has_token(*connection, "upgrade")) {
    return "101 without Connection: Upgrade";
  }
  const auto accept = response->header("Sec-WebSocket-Accept");
  const std::string expected = websocket_accept_for(key);
  if (!accept || std::string(trim(*accept)) != expected) {
    return "Sec-WebSocket-Accept is '" + accept.value_or("<missing>") + "', expected '" + expected +
           "'";
  }
  // RFC 6455 §9.1: the server may only choose among the extensions the client offered; when
  // the request offered some, the caller judges the choice (RFC 7692 §7.1 for compression).
  const bool offered = std::any_of(
      request_fields.extra_headers.begin(), request_fields.extra_headers.end(),
      [](const auto& header) { return iequals(header.first, "Sec-WebSocket-Extensions"); });
  if (response->header("Sec-WebSocket-Extensions") && !offered) {
    return "server chose an extension we never offered";
  }
  if (response->header("Sec-WebSocket-Protocol")) {
    return "server chose a subprotocol we never offered";
  }
  return {};
}

std::optional<std::string> WireClient::read_body(std::size_t size, Deadline deadline) {
  while (rx_.size() - rx_pos_ < size) {
    if (fill(deadline) != Fill::kData) {
      return std::nullopt;
    }
  }
  std::string body = rx_.substr(rx_pos_, size);
  rx_pos_ += size;
  compact();
  return body;
}

std::optional<HttpResponse> WireClient::read_http_response(Deadline deadline, std::string* error) {
  std::size_t head_end = std::string::npos;
  for (;;) {
    head_end = rx_.find("\r\n\r\n", rx_pos_);
    if (head_end != std::string::npos) {
      break;
    }
    if (rx_.size() - rx_pos_ > kMaxHttpHead) {
      *error = "response head larger than 16 KiB";
      return std::nullopt;
    }
    const Fill result = fill(deadline);
    if (result == Fill::kData) {
      continue;
    }
    *error = result == Fill::kTimeout       ? "timed out waiting for the response head"
             : result == Fill::kEndOfStream ? "server closed the connection without a response"
                                            : "connection reset before a response";
    return std::nullopt;
  }
  const std::string_view head(rx_.data() + rx_pos_, head_end - rx_pos_);
  HttpResponse response;
  std::size_t line_start = 0;
  bool first = true;
  while (line_start <= head.size()) {
    auto line_end = head.find("\r\n", line_start);
    if (line_end == std::string_view::npos) {
      line_end = head.size();
    }
    const std::string_view line = head.substr(line_start, line_end - line_start);
    if (first) {
      // "HTTP/1.1 101 Switching Protocols"
      const auto space = line.find(' ');
      if (space == std::string_view::npos || line.substr(0, 5) != "HTTP/") {
        *error = "malformed status line '" + std::string(line) + "'";
        return std::nullopt;
      }
      const std::string_view rest = line.substr(space + 1);
      int status = 0;
      std::size_t digits = 0;
      while (digits < rest.size() && digits < 3 && rest[digits] >= '0' && rest[digits] <= '9') {
        status = status * 10 + (rest[digits] - '0');
        ++digits;
      }
      if (digits != 3) {
        *error = "malformed status line '" + std::string(line) + "'";
        return std::nullopt;
      }
      response.status = status;
      response.reason = std::string(trim(rest.substr(digits)));
      first = false;
    } else if (!line.empty()) {
      const auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                      std::string(trim(line.substr(colon + 1))));
      }
    }
    if (line_end == head.size()) {
      break;
    }
    line_start = line_end + 2;
  }
  rx_pos_ = head_end + 4;
  compact();
  return response;
}

bool WireClient::send_bytes(std::string_view bytes, const SendPlan& plan, Deadline deadline) {
  const std::size_t chunk = plan.chunk_size == 0 ? bytes.size() : plan.chunk_size;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t chunk_end = std::min(bytes.size(), offset + chunk);
    while (offset < chunk_end) {
      if (failed_) {
        return false;
      }
      // After the server's end of stream POLLIN stays set forever; watching it would spin.
      pollfd waiter{fd_, static_cast<short>(eof_ ? POLLOUT : (POLLOUT | POLLIN)), 0};
      const int ready = ::poll(&waiter, 1, remaining_ms(deadline));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready <= 0) {
        return false;
      }
      // Drain the server's output while we write, so a server that echoes while it reads never
      // blocks on a full send buffer while we block on ours.
      if ((waiter.revents & POLLIN) != 0 && !eof_) {
        if (fill_now() == Fill::kReset) {
          return false;
        }
      }
      if ((waiter.revents & (POLLERR | POLLHUP)) != 0 && (waiter.revents & POLLOUT) == 0) {
        failed_ = true;
        return false;
      }
      if ((waiter.revents & POLLOUT) == 0) {
        continue;
      }
      const ssize_t sent = ::send(fd_, bytes.data() + offset, chunk_end - offset, MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          continue;
        }
        failed_ = true;
        return false;
      }
      offset += static_cast<std::size_t>(sent);
    }
    if (plan.pause.count() > 0 && offset < bytes.size()) {
      std::this_thread::sleep_for(plan.pause);
    }
  }
  return true;
}

namespace {

enum class Parse { kNeedMore, kFrame, kTooBig };

// Parses one server frame (RFC 6455 §5.2 layout) from the front of `data`: kFrame with `frame`
// filled in and its size on the wire in `total`; kNeedMore while it is incomplete; kTooBig when
// it announces more than kMaxServerFrame (`length` says how much).
Parse parse_server_frame(std::string_view data, ServerFrame& frame, std::size_t& total,
                         std::uint64_t& length) {
  if (data.size() < 2) {
    return Parse::kNeedMore;
  }
  const auto b0 = static_cast<std::uint8_t>(data[0]);
  const auto b1 = static_cast<std::uint8_t>(data[1]);
  const bool masked = (b1 & 0x80U) != 0;
  length = b1 & 0x7FU;
  std::size_t header = 2;
  bool minimal = true;
  if (length == 126 || length == 127) {
    // A 16-bit length must be at least 126 and a 64-bit one at least 65536 to be minimal.
    const bool sixteen_bits = length == 126;
    header = sixteen_bits ? 4 : 10;
    if (data.size() < header) {
      return Parse::kNeedMore;
    }
    length = 0;
    for (std::size_t i = 2; i < header; ++i) {
      length = (length << 8) | static_cast<std::uint8_t>(data[i]);
    }
    minimal = length >= (sixteen_bits ? 126U : 65536U);
  }
  if (length > kMaxServerFrame) {
    return Parse::kTooBig;
  }
  const std::size_t key_size = masked ? 4 : 0;
  total = header + key_size + static_cast<std::size_t>(length);
  if (data.size() < total) {
    return Parse::kNeedMore;
  }
  frame.fin = (b0 & 0x80U) != 0;
  frame.rsv = static_cast<std::uint8_t>((b0 >> 4) & 0x7U);
  frame.opcode = static_cast<std::uint8_t>(b0 & 0x0FU);
  frame.masked = masked;
  frame.minimal_length = minimal;
  frame.payload.assign(data.substr(header + key_size, static_cast<std::size_t>(length)));
  if (masked) {
    for (std::size_t i = 0; i < frame.payload.size(); ++i) {
      frame.payload[i] = static_cast<char>(static_cast<std::uint8_t>(frame.payload[i]) ^
                                           static_cast<std::uint8_t>(data[header + i % 4]));
    }
  }
  return Parse::kFrame;
}

}  // namespace

ReadResult WireClient::read_frame(Deadline deadline) {
  ReadResult result;
  for (;;) {
    std::size_t total = 0;
    std::uint64_t length = 0;
    switch (parse_server_frame(std::string_view(rx_.data() + rx_pos_, rx_.size() - rx_pos_),
                               result.frame, total, length)) {
      case Parse::kFrame:
        rx_pos_ += total;
        compact();
        result.status = ReadStatus::kFrame;
        return result;
      case Parse::kTooBig:
        result.status = ReadStatus::kMalformed;
        result.error = "server frame announces " + std::to_string(length) + " bytes (limit " +
                       std::to_string(kMaxServerFrame) + ")";
        return result;
      case Parse::kNeedMore:
        break;
    }
    const Fill filled = fill(deadline);
    if (filled == Fill::kData) {
      continue;
    }
    if (filled == Fill::kTimeout) {
      result.status = ReadStatus::kTimeout;
      return result;
    }
    if (rx_pos_ < rx_.size()) {
      result.status = ReadStatus::kMalformed;
      result.error = "connection ended inside a frame (" + std::to_string(rx_.size() - rx_pos_) +
                     " bytes pending)";
      return result;
    }
    result.status = filled == Fill::kEndOfStream ? ReadStatus::kEndOfStream : ReadStatus::kReset;
    return result;
  }
}

void WireClient::shutdown_write() const { ::shutdown(fd_, SHUT_WR); }

void WireClient::reset() {
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd_);
  fd_ = -1;
  failed_ = true;
}

WireClient::Fill WireClient::fill(Deadline deadline) {
  if (eof_) {
    return Fill::kEndOfStream;
  }
  if (failed_) {
    return Fill::kReset;
  }
  for (;;) {
    pollfd waiter{fd_, POLLIN, 0};
    const int ready = ::poll(&waiter, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return Fill::kTimeout;
    }
    return fill_now();
  }
}

WireClient::Fill WireClient::fill_now() {
  const std::size_t old_size = rx_.size();
  rx_.resize(old_size + kReadChunk);
  const ssize_t got = ::recv(fd_, rx_.data() + old_size, kReadChunk, 0);
  if (got > 0) {
    rx_.resize(old_size + static_cast<std::size_t>(got));
    return Fill::kData;
  }
  rx_.resize(old_size);
  if (got == 0) {
    eof_ = true;
    return Fill::kEndOfStream;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return Fill::kData;
  }
  failed_ = true;
  return Fill::kReset;
}

void WireClient::compact() {
  if (rx_pos_ == rx_.size()) {
    rx_.clear();
    rx_pos_ = 0;
  } else if (rx_pos_ > std::size_t{1024} * 1024 && rx_pos_ > rx_.size() / 2) {
    rx_.erase(0, rx_pos_);
    rx_pos_ = 0;
  }
}

}  // namespace tester

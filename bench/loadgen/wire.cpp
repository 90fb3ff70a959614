// Client frames, the opening handshake and a minimal HTTP/1.1 reader (RFC 6455 §4.1, §5.2-5.3).
#include "wire.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ws::bench {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string masked_frame(std::uint8_t opcode, std::string_view payload, MaskingKey key) {
  std::string frame;
  frame.reserve(14 + payload.size());
  frame += static_cast<char>(0x80 | opcode);
  const std::uint64_t length = payload.size();
  // §5.2: 7-bit length up to 125, else 126 + 16-bit length, else 127 + 64-bit length.
  if (length <= 125) {
    frame += static_cast<char>(0x80 | length);
  } else if (length <= 0xFFFF) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(length >> 8);
    frame += static_cast<char>(length & 0xFF);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame += static_cast<char>((length >> shift) & 0xFF);
    }
  }
  for (const std::uint8_t byte : key) {
    frame += static_cast<char>(byte);
  }
  const std::size_t start = frame.size();
  frame.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame[start + i] = static_cast<char>(static_cast<std::uint8_t>(frame[start + i]) ^ key[i % 4]);
  }
  return frame;
}

std::size_t header_size(std::uint8_t second_byte) {
  const std::uint8_t length7 = second_byte & 0x7F;
  const std::size_t length_bytes = length7 == 126 ? 2U : length7 == 127 ? 8U : 0U;
  return 2 + length_bytes + ((second_byte & 0x80) != 0 ? 4U : 0U);
}

std::size_t decode_header(std::string_view bytes, ServerFrameHeader& header) {
  if (bytes.size() < 2) {
    return 0;
  }
  const auto first = static_cast<std::uint8_t>(bytes[0]);
  const auto second = static_cast<std::uint8_t>(bytes[1]);
  header.fin = (first & 0x80) != 0;
  header.rsv1 = (first & 0x40) != 0;
  header.rsv23 = (first & 0x30) != 0;
  header.opcode = first & 0x0F;
  header.masked = (second & 0x80) != 0;
  const std::uint8_t length7 = second & 0x7F;
  const std::size_t length_bytes = length7 == 126 ? 2U : length7 == 127 ? 8U : 0U;
  const std::size_t size = header_size(second);
  if (bytes.size() < size) {
    return 0;
  }
  if (length_bytes == 0) {
    header.payload_length = length7;
  } else {
    header.payload_length = 0;
    for (std::size_t i = 0; i < length_bytes; ++i) {
      header.payload_length =
          (header.payload_length << 8) | static_cast<std::uint8_t>(bytes[2 + i]);
    }
  }
  return size;
}

std::string random_key() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return base64(bytes.data(), bytes.size());
}

std::string accept_for(std::string_view key) {
  std::string input(key);
  input += kGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return base64(digest.data(), digest.size());
}

std::string upgrade_request(std::string_view host_port, std::string_view path, std::string_view key,
                            std::string_view origin, bool offer_deflate) {
  std::string request;
  request.reserve(256);
  request.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_port);
  request.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  request.append(key).append("\r\nSec-WebSocket-Version: 13\r\n");
  if (!origin.empty()) {
    request.append("Origin: ").append(origin).append("\r\n");
  }
  if (offer_deflate) {
    request.append("Sec-WebSocket-Extensions: ").append(kDeflateOffer).append("\r\n");
  }
  request.append("\r\n");
  return request;
}

std::string post_request(std::string_view host_port, std::string_view path, std::string_view body) {
  std::string request;
  request.append("POST ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_port);
  request.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  request.append(std::to_string(body.size())).append("\r\nConnection: close\r\n\r\n");
  request.append(body);
  return request;
}

std::size_t response_head_size(std::string_view bytes) {
  const std::size_t end = bytes.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : end + 4;
}

int response_status(std::string_view head) {
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  if (!head.starts_with(kVersion) || head.size() < kVersion.size() + 3) {
    return 0;
  }
  int status = 0;
  for (std::size_t i = kVersion.size(); i < kVersion.size() + 3; ++i) {
    if (std::isdigit(static_cast<unsigned char>(head[i])) == 0) {
      return 0;
    }
    status = status * 10 + (head[i] - '0');
  }
  return status;
}

std::string_view header_value(std::string_view head, std::string_view name) {
  std::size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos && line_start + 2 < head.size()) {
    line_start += 2;
    const std::size_t line_end = head.find("\r\n", line_start);
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      return value;
    }
    line_start = line_end;
  }
  return {};
}

std::string_view json_string_field(std::string_view json, std::string_view field) {
  std::string quoted = "\"";
  quoted.append(field).append("\"");
  std::size_t at = json.find(quoted);
  if (at == std::string_view::npos) {
    return {};
  }
  at = json.find(':', at + quoted.size());
  if (at == std::string_view::npos) {
    return {};
  }
  at = json.find('"', at);
  if (at == std::string_view::npos) {
    return {};
  }
  const std::size_t end = json.find('"', at + 1);
  if (end == std::string_view::npos) {
    return {};
  }
  return json.substr(at + 1, end - at - 1);
}

}  // namespace ws::bench

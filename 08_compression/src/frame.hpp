// The WebSocket frame, RFC 6455 §5.2: encoding a frame header, decoding one from bytes as they
// arrive, and classifying opcodes. Masking the payload (§5.3) lives in mask.hpp.
//
//   byte 0          byte 1          bytes 2-3 / 2-9 (optional)       next 4 (if MASK)
//  +-+-+-+-+-------+-+-------------+--------------------------------+----------------+
//  |F|R|R|R| opcode|M| payload len |   extended payload length      |  masking key   |
//  |I|S|S|S|  4 bit|A|    7 bit    |  16 bit if len == 126          |    4 bytes     |
//  |N|V|V|V|       |S|             |  64 bit if len == 127          |                |
//  | |1|2|3|       |K|             |  (network byte order)          |                |
//  +-+-+-+-+-------+-+-------------+--------------------------------+----------------+
//   7 6 5 4 3 2 1 0 7 6 5 4 3 2 1 0   then the payload, masked if MASK is 1
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mask.hpp"

namespace ws {

/// §5.2 opcodes. 0x3-0x7 and 0xB-0xF are reserved.
enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// One frame header, as on the wire. `opcode` is the raw 4-bit value: a decoded header may carry
/// a reserved opcode, and judging it is the reader's job, not the decoder's.
struct FrameHeader {
  bool fin = true;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::uint64_t payload_length = 0;
  MaskingKey masking_key{};

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

/// 2 fixed bytes + 8 bytes of 64-bit length + 4 bytes of masking key.
inline constexpr std::size_t kMaxFrameHeaderSize = 14;

/// §5.5: a control frame carries at most 125 bytes of payload.
inline constexpr std::size_t kMaxControlPayloadSize = 125;

/// True for Close, Ping and Pong, and for the reserved control opcodes 0xB-0xF: §5.5 makes
/// every opcode with its most significant bit set a control opcode.
bool is_control(std::uint8_t opcode);
bool is_control(Opcode opcode);

/// True for the opcodes §5.2 reserves for future use: 0x3-0x7 and 0xB-0xF.
bool is_reserved_opcode(std::uint8_t opcode);

/// The size of the whole header (2-14 bytes), read from its second byte alone: that byte says
/// whether an extended length (2 or 8 bytes) and a masking key (4 bytes) follow.
std::size_t frame_header_size(std::uint8_t second_byte);

/// Writes `header` to `out` using the shortest length form and returns the bytes written (2-14).
std::size_t encode_frame_header(const FrameHeader& header,
                                std::span<char, kMaxFrameHeaderSize> out);

/// Decodes the header at the start of `bytes`. Returns its size, or 0 when `bytes` does not yet
/// hold the whole header (call again when more bytes have arrived). It only decodes: reserved
/// opcodes, RSV bits and huge lengths are reported as they are, for the caller to judge.
std::size_t decode_frame_header(std::string_view bytes, FrameHeader& header);

/// A whole frame: header plus payload, masked with `masking_key` when one is given (clients
/// mask, servers never do, §5.1).
std::string encode_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         std::optional<MaskingKey> masking_key = std::nullopt);

/// A whole unmasked frame carrying a compressed message, RSV1 set: RFC 7692 §6 marks the first
/// frame of a compressed message with it ("Per-Message Compressed"), and this frame is the whole
/// message.
std::string encode_compressed_frame(Opcode opcode, std::string_view compressed_payload);

}  // namespace ws

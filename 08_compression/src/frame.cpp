// The WebSocket frame, RFC 6455 §5.2.
#include "frame.hpp"

namespace ws {

namespace {

std::uint8_t byte_at(std::string_view bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

}  // namespace

bool is_control(std::uint8_t opcode) { return (opcode & 0x08U) != 0; }

bool is_control(Opcode opcode) { return is_control(static_cast<std::uint8_t>(opcode)); }

bool is_reserved_opcode(std::uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kContinuation:
    case Opcode::kText:
    case Opcode::kBinary:
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      return false;
  }
  return true;
}

std::size_t frame_header_size(std::uint8_t second_byte) {
  const std::uint8_t length7 = second_byte & 0x7FU;
  const std::size_t length_size = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const bool masked = (second_byte & 0x80U) != 0;
  return 2 + length_size + (masked ? 4 : 0);
}

std::size_t encode_frame_header(const FrameHeader& header,
                                std::span<char, kMaxFrameHeaderSize> out) {
  std::size_t size = 0;
  const auto put = [&](std::uint32_t value) { out[size++] = static_cast<char>(value & 0xFFU); };

  put((header.fin ? 0x80U : 0U) | (header.rsv1 ? 0x40U : 0U) | (header.rsv2 ? 0x20U : 0U) |
      (header.rsv3 ? 0x10U : 0U) | (header.opcode & 0x0FU));

  // §5.2: the length is sent in the smallest form that holds it: 7 bits for 0-125, then the
  // markers 126 (16-bit length follows) and 127 (64-bit length follows), big-endian.
  const std::uint32_t mask_bit = header.masked ? 0x80U : 0U;
  const std::uint64_t length = header.payload_length;
  if (length <= 125) {
    put(mask_bit | static_cast<std::uint32_t>(length));
  } else if (length <= 0xFFFF) {
    put(mask_bit | 126U);
    put(static_cast<std::uint32_t>(length >> 8U));
    put(static_cast<std::uint32_t>(length));
  } else {
    put(mask_bit | 127U);
    for (int shift = 56; shift >= 0; shift -= 8) {
      put(static_cast<std::uint32_t>(length >> static_cast<unsigned>(shift)));
    }
  }
  if (header.masked) {
    for (const std::uint8_t key_byte : header.masking_key) {
      put(key_byte);
    }
  }
  return size;
}

std::size_t decode_frame_header(std::string_view bytes, FrameHeader& header) {
  if (bytes.size() < 2) {
    return 0;
  }
  const std::uint8_t b0 = byte_at(bytes, 0);
  const std::uint8_t b1 = byte_at(bytes, 1);
  const std::size_t size = frame_header_size(b1);
  if (bytes.size() < size) {
    return 0;
  }
  const std::uint8_t length7 = b1 & 0x7FU;
  const std::size_t length_size = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const bool masked = (b1 & 0x80U) != 0;

  header.fin = (b0 & 0x80U) != 0;
  header.rsv1 = (b0 & 0x40U) != 0;
  header.rsv2 = (b0 & 0x20U) != 0;
  header.rsv3 = (b0 & 0x10U) != 0;
  header.opcode = b0 & 0x0FU;
  header.masked = masked;
  header.payload_length = length7;
  if (length_size > 0) {
    header.payload_length = 0;
    for (std::size_t i = 0; i < length_size; ++i) {
      header.payload_length = (header.payload_length << 8U) | byte_at(bytes, 2 + i);
    }
  }
  header.masking_key = {};
  if (masked) {
    for (std::size_t i = 0; i < 4; ++i) {
      header.masking_key.at(i) = byte_at(bytes, 2 + length_size + i);
    }
  }
  return size;
}

std::string encode_frame(Opcode opcode, std::string_view payload, bool fin,
                         std::optional<MaskingKey> masking_key) {
  FrameHeader header;
  header.fin = fin;
  header.opcode = static_cast<std::uint8_t>(opcode);
  header.masked = masking_key.has_value();
  header.payload_length = payload.size();
  if (masking_key) {
    header.masking_key = *masking_key;
  }
  std::array<char, kMaxFrameHeaderSize> head{};
  const std::size_t head_size = encode_frame_header(header, head);

  std::string frame;
  frame.reserve(head_size + payload.size());
  frame.append(head.data(), head_size);
  frame.append(payload);
  if (masking_key) {
    apply_mask(std::span<char>(frame).subspan(head_size), *masking_key);
  }
  return frame;
}

std::string encode_compressed_frame(Opcode opcode, std::string_view compressed_payload) {
  FrameHeader header;
  header.opcode = static_cast<std::uint8_t>(opcode);
  header.rsv1 = true;
  header.payload_length = compressed_payload.size();
  std::array<char, kMaxFrameHeaderSize> head{};
  const std::size_t head_size = encode_frame_header(header, head);
  std::string frame;
  frame.reserve(head_size + compressed_payload.size());
  frame.append(head.data(), head_size);
  frame.append(compressed_payload);
  return frame;
}

}  // namespace ws

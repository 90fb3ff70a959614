// Tests for frame.hpp: the header bit layout (RFC 6455 §5.2), the three length forms, and
// the examples of §5.7 byte for byte.
#include "frame.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ws {
namespace {

const MaskingKey kRfcKey = {0x37, 0xfa, 0x21, 0x3d};

std::string encode_header(const FrameHeader& header) {
  std::array<char, kMaxFrameHeaderSize> out{};
  const std::size_t size = encode_frame_header(header, out);
  return {out.data(), size};
}

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (const unsigned v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

struct LengthCase {
  std::uint64_t length;
  std::size_t header_size;  // unmasked
  std::string_view length_bytes;
};

TEST(FrameHeader, EncodesEachLengthInItsShortestForm) {
  const std::vector<LengthCase> cases = {
      {0, 2, std::string_view("\x00", 1)},
      {1, 2, "\x01"},
      {125, 2, "}"},  // 0x7D
      {126, 4, std::string_view("\x7E\x00\x7E", 3)},
      {127, 4, std::string_view("\x7E\x00\x7F", 3)},
      {65535, 4, "\x7E\xFF\xFF"},
      {65536, 10, std::string_view("\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 9)},
      {std::uint64_t{1} << 32U, 10, std::string_view("\x7F\x00\x00\x00\x01\x00\x00\x00\x00", 9)},
      {(std::uint64_t{1} << 63U) - 1, 10, "\x7F\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF"},
  };
  for (const LengthCase& c : cases) {
    FrameHeader header;
    header.opcode = static_cast<std::uint8_t>(Opcode::kBinary);
    header.payload_length = c.length;
    const std::string encoded = encode_header(header);
    ASSERT_EQ(encoded.size(), c.header_size) << c.length;
    EXPECT_EQ(encoded[0], '\x82') << c.length;
    EXPECT_EQ(encoded.substr(1), c.length_bytes) << c.length;

    FrameHeader decoded;
    EXPECT_EQ(decode_frame_header(encoded, decoded), c.header_size);
    EXPECT_EQ(decoded, header) << c.length;

    header.masked = true;
    header.masking_key = kRfcKey;
    const std::string masked = encode_header(header);
    EXPECT_EQ(masked.size(), c.header_size + 4) << c.length;
    EXPECT_EQ(decode_frame_header(masked, decoded), c.header_size + 4);
    EXPECT_EQ(decoded, header) << c.length;
    EXPECT_EQ(frame_header_size(static_cast<std::uint8_t>(masked[1])), c.header_size + 4);
  }
}

TEST(FrameHeader, RoundTripsEveryFlagAndOpcode) {
  for (unsigned bits = 0; bits < 256; ++bits) {
    FrameHeader header;
    header.fin = (bits & 1U) != 0;
    header.rsv1 = (bits & 2U) != 0;
    header.rsv2 = (bits & 4U) != 0;
    header.rsv3 = (bits & 8U) != 0;
    header.opcode = static_cast<std::uint8_t>(bits >> 4U);
    header.payload_length = bits;
    header.masked = (bits & 16U) != 0;
    header.masking_key = {static_cast<std::uint8_t>(bits), 1, 2, 3};
    if (!header.masked) {
      header.masking_key = {};
    }
    const std::string encoded = encode_header(header);
    FrameHeader decoded;
    ASSERT_EQ(decode_frame_header(encoded, decoded), encoded.size());
    ASSERT_EQ(decoded, header) << bits;
  }
}

TEST(FrameHeader, DecodeWaitsForTheWholeHeaderAndLeavesTheOutputAlone) {
  FrameHeader header;
  header.opcode = static_cast<std::uint8_t>(Opcode::kText);
  header.payload_length = 70000;
  header.masked = true;
  header.masking_key = kRfcKey;
  const std::string encoded = encode_header(header) + "payload";
  ASSERT_EQ(encoded.size(), 14U + 7U);
  const FrameHeader sentinel{false, true, true, true, 0xF, false, 99, {9, 9, 9, 9}};
  for (std::size_t prefix = 0; prefix < 14; ++prefix) {
    FrameHeader decoded = sentinel;
    EXPECT_EQ(decode_frame_header(std::string_view(encoded).substr(0, prefix), decoded), 0U)
        << prefix;
    EXPECT_EQ(decoded, sentinel) << prefix;
  }
  FrameHeader decoded;
  EXPECT_EQ(decode_frame_header(encoded, decoded), 14U);
  EXPECT_EQ(decoded, header);
}

TEST(FrameHeader, DecodeDoesNotJudge) {
  FrameHeader decoded;
  // All RSV bits, reserved opcode 0xB, FIN clear.
  EXPECT_EQ(decode_frame_header(bytes({0x7B, 0x00}), decoded), 2U);
  EXPECT_FALSE(decoded.fin);
  EXPECT_TRUE(decoded.rsv1 && decoded.rsv2 && decoded.rsv3);
  EXPECT_EQ(decoded.opcode, 0xB);
  // A 64-bit length with the top bit set.
  EXPECT_EQ(decode_frame_header(bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1}), decoded), 10U);
  EXPECT_EQ(decoded.payload_length, (std::uint64_t{1} << 63U) + 1);
  // A non-minimal 16-bit length for 5 bytes.
  EXPECT_EQ(decode_frame_header(bytes({0x81, 0x7E, 0x00, 0x05}), decoded), 4U);
  EXPECT_EQ(decoded.payload_length, 5U);
}

TEST(FrameHeader, EncodeWritesOnlyTheLowFourOpcodeBits) {
  FrameHeader header;
  header.opcode = 0xF1;
  EXPECT_EQ(encode_header(header), bytes({0x81, 0x00}));
}

TEST(FrameHeader, HeaderSizeFollowsTheSecondByte) {
  EXPECT_EQ(frame_header_size(0x00), 2U);
  EXPECT_EQ(frame_header_size(0x7D), 2U);
  EXPECT_EQ(frame_header_size(0x7E), 4U);
  EXPECT_EQ(frame_header_size(0x7F), 10U);
  EXPECT_EQ(frame_header_size(0x80), 6U);
  EXPECT_EQ(frame_header_size(0xFE), 8U);
  EXPECT_EQ(frame_header_size(0xFF), kMaxFrameHeaderSize);
}

TEST(Opcode, ClassifiesEveryFourBitValue) {
  // 0-2 data, 3-7 reserved data, 8-A control, B-F reserved control (RFC 6455 §5.2).
  const std::array<bool, 16> reserved = {false, false, false, true, true, true, true, true,
                                         false, false, false, true, true, true, true, true};
  for (unsigned opcode = 0; opcode < 16; ++opcode) {
    const auto value = static_cast<std::uint8_t>(opcode);
    EXPECT_EQ(is_reserved_opcode(value), reserved[opcode]) << opcode;
    EXPECT_EQ(is_control(value), opcode >= 8) << opcode;
  }
  EXPECT_TRUE(is_reserved_opcode(0x10));
  EXPECT_TRUE(is_control(Opcode::kClose));
  EXPECT_TRUE(is_control(Opcode::kPing));
  EXPECT_TRUE(is_control(Opcode::kPong));
  EXPECT_FALSE(is_control(Opcode::kText));
  EXPECT_FALSE(is_control(Opcode::kBinary));
  EXPECT_FALSE(is_control(Opcode::kContinuation));
}

// RFC 6455 §5.7, byte for byte.
TEST(EncodeFrame, MatchesRfcSingleFrameUnmaskedText) {
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello"),
            bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(EncodeFrame, MatchesRfcSingleFrameMaskedText) {
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello", true, kRfcKey),
            bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(EncodeFrame, MatchesRfcFragmentedUnmaskedText) {
  EXPECT_EQ(encode_frame(Opcode::kText, "Hel", false), bytes({0x01, 0x03, 0x48, 0x65, 0x6c}));
  EXPECT_EQ(encode_frame(Opcode::kContinuation, "lo"), bytes({0x80, 0x02, 0x6c, 0x6f}));
}

TEST(EncodeFrame, MatchesRfcUnmaskedPingAndMaskedPong) {
  EXPECT_EQ(encode_frame(Opcode::kPing, "Hello"),
            bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(encode_frame(Opcode::kPong, "Hello", true, kRfcKey),
            bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(EncodeFrame, MasksAPingLikeTheRfcPong) {
  EXPECT_EQ(encode_frame(Opcode::kPing, "Hello", true, kRfcKey),
            bytes({0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(EncodeFrame, MatchesRfc256ByteBinaryHeader) {
  const std::string payload(256, '\x5A');
  const std::string frame = encode_frame(Opcode::kBinary, payload);
  ASSERT_EQ(frame.size(), 4U + 256U);
  EXPECT_EQ(frame.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));
  EXPECT_EQ(frame.substr(4), payload);
}

TEST(EncodeFrame, MatchesRfc64KiBBinaryHeader) {
  const std::string payload(65536, '\xA5');
  const std::string frame = encode_frame(Opcode::kBinary, payload);
  ASSERT_EQ(frame.size(), 10U + 65536U);
  EXPECT_EQ(frame.substr(0, 10),
            bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
  EXPECT_EQ(frame.substr(10), payload);
}

TEST(EncodeFrame, EmptyPayloadGivesABareHeader) {
  EXPECT_EQ(encode_frame(Opcode::kClose, ""), bytes({0x88, 0x00}));
  EXPECT_EQ(encode_frame(Opcode::kClose, "", true, kRfcKey),
            bytes({0x88, 0x80, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST(EncodeFrame, DecodesBackToTheSameHeader) {
  const std::string frame = encode_frame(Opcode::kBinary, std::string(300, 'x'), false, kRfcKey);
  FrameHeader header;
  ASSERT_EQ(decode_frame_header(frame, header), 8U);
  EXPECT_FALSE(header.fin);
  EXPECT_EQ(header.opcode, static_cast<std::uint8_t>(Opcode::kBinary));
  EXPECT_TRUE(header.masked);
  EXPECT_EQ(header.masking_key, kRfcKey);
  EXPECT_EQ(header.payload_length, 300U);
}

}  // namespace
}  // namespace ws

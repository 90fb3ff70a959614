// Frame header encoding/decoding in all three length forms (RFC 6455 §5.2) and masking (§5.3).
#include "frame.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ws {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) {
    out += static_cast<char>(v);
  }
  return out;
}

TEST(Frame, EncodesRfcExampleUnmaskedHello) {
  // §5.7: a single-frame unmasked text message containing "Hello".
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello"),
            bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

TEST(Frame, EncodesRfcExampleMaskedHello) {
  // §5.7: a single-frame masked text message containing "Hello".
  EXPECT_EQ(encode_frame(Opcode::kText, "Hello", true, MaskingKey{0x37, 0xfa, 0x21, 0x3d}),
            bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

struct LengthCase {
  std::uint64_t length;
  std::string expected_prefix;  // bytes 1.. of the header (after FIN/opcode)
};

class FrameLengthForm : public ::testing::TestWithParam<LengthCase> {};

TEST_P(FrameLengthForm, EncodesShortestFormAndDecodesItBack) {
  const auto& [length, expected] = GetParam();
  FrameHeader header;
  header.opcode = static_cast<std::uint8_t>(Opcode::kBinary);
  header.payload_length = length;
  std::array<char, kMaxFrameHeaderSize> out{};
  const std::size_t size = encode_frame_header(header, out);
  const std::string encoded(out.data(), size);
  EXPECT_EQ(encoded.substr(1), expected);

  FrameHeader decoded;
  EXPECT_EQ(decode_frame_header(encoded, decoded), size);
  EXPECT_EQ(decoded.payload_length, length);
  EXPECT_TRUE(decoded.fin);
  EXPECT_EQ(decoded.opcode, static_cast<std::uint8_t>(Opcode::kBinary));
}

INSTANTIATE_TEST_SUITE_P(
    AllForms, FrameLengthForm,
    ::testing::Values(LengthCase{0, bytes({0x00})}, LengthCase{125, bytes({0x7d})},
                      // §5.2: 126 switches to a 16-bit length (§5.7: "256 bytes binary message").
                      LengthCase{126, bytes({0x7e, 0x00, 0x7e})},
                      LengthCase{256, bytes({0x7e, 0x01, 0x00})},
                      LengthCase{65535, bytes({0x7e, 0xff, 0xff})},
                      // 127 switches to a 64-bit length (§5.7: "64KiB binary message").
                      LengthCase{65536, bytes({0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
                      LengthCase{0x0123456789ULL,
                                 bytes({0x7f, 0, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89})}));

TEST(Frame, DecodeWaitsUntilTheWholeHeaderHasArrived) {
  const std::string frame =
      encode_frame(Opcode::kText, std::string(300, 'x'), true, MaskingKey{1, 2, 3, 4});
  FrameHeader header;
  // 2 fixed bytes + 2 bytes of 16-bit length + 4 bytes of key: nothing decodes before byte 8.
  for (std::size_t available = 0; available < 8; ++available) {
    EXPECT_EQ(decode_frame_header(std::string_view(frame).substr(0, available), header), 0U)
        << "with " << available << " bytes";
  }
  EXPECT_EQ(decode_frame_header(std::string_view(frame).substr(0, 8), header), 8U);
  EXPECT_TRUE(header.masked);
  EXPECT_EQ(header.payload_length, 300U);
  EXPECT_EQ(header.masking_key, (MaskingKey{1, 2, 3, 4}));
}

TEST(Frame, DecodesBitsAsTheyAreWithoutJudgingThem) {
  // FIN=0, RSV1..3 set, reserved opcode 0x3: decoding reports them; refusing is the reader's job.
  FrameHeader header;
  ASSERT_EQ(decode_frame_header(bytes({0x73, 0x00}), header), 2U);
  EXPECT_FALSE(header.fin);
  EXPECT_TRUE(header.rsv1);
  EXPECT_TRUE(header.rsv2);
  EXPECT_TRUE(header.rsv3);
  EXPECT_EQ(header.opcode, 0x3);
  EXPECT_FALSE(header.masked);
}

TEST(Frame, UnmaskRestoresRfcExamplePayload) {
  std::string payload = bytes({0x7f, 0x9f, 0x4d, 0x51, 0x58});
  apply_mask(payload, MaskingKey{0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(payload, "Hello");
}

TEST(Frame, UnmaskInPiecesEqualsUnmaskInOneGo) {
  const MaskingKey key{0xde, 0xad, 0xbe, 0xef};
  std::string whole = "The quick brown fox jumps over the lazy dog";
  std::string pieces = whole;
  apply_mask(whole, key);
  std::size_t offset = 0;
  for (std::size_t start = 0; start < pieces.size(); start += 5) {
    const std::size_t size = std::min<std::size_t>(5, pieces.size() - start);
    offset = apply_mask(std::span<char>(pieces).subspan(start, size), key, offset);
  }
  EXPECT_EQ(pieces, whole);
}

}  // namespace
}  // namespace ws

// Tests for mask.hpp: masking and unmasking payloads (RFC 6455 §5.3), the fast version
// checked against the plain loop for every length, alignment and key offset.
#include "mask.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace ws {
namespace {

const MaskingKey kRfcKey = {0x37, 0xfa, 0x21, 0x3d};

std::string random_bytes(std::mt19937& rng, std::size_t size) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string bytes(size, '\0');
  for (char& c : bytes) {
    c = static_cast<char>(byte(rng));
  }
  return bytes;
}

TEST(ApplyMask, MasksTheRfcExample) {
  // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58.
  std::string simple = "Hello";
  std::string fast = "Hello";
  EXPECT_EQ(apply_mask_simple(simple, kRfcKey), 1U);
  EXPECT_EQ(apply_mask(fast, kRfcKey), 1U);
  EXPECT_EQ(simple, "\x7f\x9f\x4d\x51\x58");
  EXPECT_EQ(fast, "\x7f\x9f\x4d\x51\x58");
}

TEST(ApplyMask, IsItsOwnInverse) {
  std::mt19937 rng(1);
  const std::string original = random_bytes(rng, 1000);
  std::string data = original;
  apply_mask(data, kRfcKey);
  EXPECT_NE(data, original);
  apply_mask(data, kRfcKey);
  EXPECT_EQ(data, original);
}

TEST(ApplyMask, MatchesSimpleForEveryLengthAlignmentAndKeyOffset) {
  std::mt19937 rng(42);
  const MaskingKey key = {0xA1, 0x5C, 0x03, 0xF7};
  constexpr std::size_t kMaxLength = 70;
  constexpr std::size_t kMaxAlignment = 15;
  const std::string original = random_bytes(rng, kMaxLength + kMaxAlignment);
  for (std::size_t length = 0; length <= kMaxLength; ++length) {
    for (std::size_t alignment = 0; alignment <= kMaxAlignment; ++alignment) {
      for (std::size_t key_offset = 0; key_offset < 4; ++key_offset) {
        std::string expected = original;
        std::string actual = original;
        const std::size_t expected_next = apply_mask_simple(
            std::span<char>(expected).subspan(alignment, length), key, key_offset);
        const std::size_t actual_next =
            apply_mask(std::span<char>(actual).subspan(alignment, length), key, key_offset);
        ASSERT_EQ(actual, expected) << length << " " << alignment << " " << key_offset;
        ASSERT_EQ(actual_next, expected_next);
        ASSERT_EQ(actual_next, (key_offset + length) % 4);
      }
    }
  }
}

TEST(ApplyMask, KeyOffsetLetsAPayloadBeMaskedInChunks) {
  std::mt19937 rng(7);
  const std::string original = random_bytes(rng, 997);
  std::string whole = original;
  apply_mask_simple(whole, kRfcKey);
  for (int trial = 0; trial < 50; ++trial) {
    std::string chunked = original;
    std::uniform_int_distribution<std::size_t> chunk_size(0, 40);
    std::size_t pos = 0;
    std::size_t key_offset = 0;
    while (pos < chunked.size()) {
      const std::size_t size = std::min(chunk_size(rng), chunked.size() - pos);
      key_offset = apply_mask(std::span<char>(chunked).subspan(pos, size), kRfcKey, key_offset);
      pos += size;
    }
    ASSERT_EQ(chunked, whole) << "trial " << trial;
  }
}

TEST(ApplyMask, TreatsAnOffsetOfFourOrMoreModuloFour) {
  std::string a = "abcdefghij";
  std::string b = a;
  EXPECT_EQ(apply_mask(a, kRfcKey, 6), apply_mask_simple(b, kRfcKey, 2));
  EXPECT_EQ(a, b);
}

TEST(ApplyMask, LeavesAnEmptySpanAlone) {
  EXPECT_EQ(apply_mask(std::span<char>(), kRfcKey, 3), 3U);
  EXPECT_EQ(apply_mask_simple(std::span<char>(), kRfcKey, 3), 3U);
}

TEST(ApplyMask, MatchesSimpleOnLargeBuffers) {
  std::mt19937 rng(3);
  for (const std::size_t size : {4096U, 65536U + 13U}) {
    const std::string original = random_bytes(rng, size);
    std::string expected = original;
    std::string actual = original;
    apply_mask_simple(std::span<char>(expected).subspan(1), kRfcKey, 1);
    apply_mask(std::span<char>(actual).subspan(1), kRfcKey, 1);
    EXPECT_EQ(actual, expected) << size;
  }
}

}  // namespace
}  // namespace ws

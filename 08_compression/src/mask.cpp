// Payload masking (RFC 6455 §5.3), a byte loop and a word-at-a-time version.
// The fast version is the byte loop with the key repeated to the width of a register.
#include "mask.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ws {

namespace {

constexpr std::size_t kKeySize = 4;

}  // namespace

std::size_t apply_mask_simple(std::span<char> data, const MaskingKey& key, std::size_t key_offset) {
  // RFC 6455 §5.3: octet i of the masked payload is octet i of the original XOR octet
  // (i modulo 4) of the masking key. Here the payload position of data[i] is key_offset + i.
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] =
        static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ key[(key_offset + i) % kKeySize]);
  }
  return (key_offset + data.size()) % kKeySize;
}

std::size_t apply_mask(std::span<char> data, const MaskingKey& key, std::size_t key_offset) {
  // Lay out 16 key bytes in the order the payload bytes will meet them: starting at
  // key[key_offset] (the key "rotated" to the offset), then repeating. Because the pattern
  // repeats every 4 bytes, and 8 and 16 are multiples of 4, one register-wide copy of it fits
  // every 8- or 16-byte step. Building it byte by byte in memory, rather than with shifts,
  // keeps it right on both little- and big-endian machines.
  std::array<std::uint8_t, 16> pattern{};
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    pattern[i] = key[(key_offset + i) % kKeySize];
  }

  char* const bytes = data.data();
  const std::size_t size = data.size();
  std::size_t i = 0;

  // memcpy is how C++ spells an unaligned load or store without undefined behaviour; the
  // compiler emits a single move instruction for it. No alignment prologue is needed:
  // unaligned access costs (almost) nothing on current x86 and ARM cores.
#if defined(__SSE2__)
  // SSE2 is part of every x86-64 CPU, so this branch is always taken there.
  const __m128i key128 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(pattern.data()));
  for (; i + 16 <= size; i += 16) {
    auto* const chunk = reinterpret_cast<__m128i*>(bytes + i);
    _mm_storeu_si128(chunk, _mm_xor_si128(_mm_loadu_si128(chunk), key128));
  }
#endif

  std::uint64_t key64 = 0;
  std::memcpy(&key64, pattern.data(), sizeof key64);
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + i, sizeof word);
    word ^= key64;
    std::memcpy(bytes + i, &word, sizeof word);
  }

  // The last 0-7 bytes. Every step above advanced i by a multiple of 4, so the pattern is
  // still aligned with i.
  for (; i < size; ++i) {
    bytes[i] = static_cast<char>(static_cast<std::uint8_t>(bytes[i]) ^ pattern[i % kKeySize]);
  }
  return (key_offset + size) % kKeySize;
}

}  // namespace ws

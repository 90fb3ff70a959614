// Payload masking (RFC 6455 §5.3): every byte a client sends is XORed with a 4-byte key.
// Two versions of the same operation: a plain loop to read first, and a fast one that works
// on 8 or 16 bytes at a time. Both can continue where a previous chunk stopped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ws {

/// The 4-byte masking key that follows the length in a masked frame header (RFC 6455 §5.2).
using MaskingKey = std::array<std::uint8_t, 4>;

/// Masks (or unmasks: XOR is its own inverse) `data` in place, one byte at a time:
/// byte i of the payload is XORed with key[i % 4] (RFC 6455 §5.3).
///
/// `key_offset` is the position in the payload of data[0], modulo 4, so that a payload can be
/// processed in chunks as it arrives. Returns the key offset for the next chunk,
/// (key_offset + data.size()) % 4.
std::size_t apply_mask_simple(std::span<char> data, const MaskingKey& key,
                              std::size_t key_offset = 0);

/// Same result as apply_mask_simple(), but XORs a whole machine word (8 bytes, or 16 with
/// SSE2) per step. Works for any length, alignment and key_offset.
/// Returns the key offset for the next chunk, (key_offset + data.size()) % 4.
std::size_t apply_mask(std::span<char> data, const MaskingKey& key, std::size_t key_offset = 0);

}  // namespace ws

// libFuzzer target for Utf8Validator (RFC 3629, as RFC 6455 §5.6 and §8.1 use it): arbitrary
// bytes fed in pieces chosen by the input, compared after every piece with a reference validator
// that decodes code points the slow, obvious way. The two must agree exactly, including on the
// byte at which a text stops being valid (the validator fails fast) and on complete().
// Input layout: byte 0 seeds the piece sizes (0 = all at once); the rest is the text.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "utf8.hpp"

namespace {

using ws::fuzz::check;

/// The reference: decodes code points by the bit patterns of RFC 3629 §3 and checks the decoded
/// value against the rules of §3-4 (shortest form, no surrogates, at most U+10FFFF). It keeps
/// the sequence in progress so that it can say, after any byte, whether the bytes so far can
/// still be the start of valid UTF-8.
class ReferenceValidator {
 public:
  /// Takes one byte; returns false once the bytes so far cannot start any valid UTF-8 text.
  bool push(std::uint8_t byte) {
    if (failed_) {
      return false;
    }
    if (length_ == 0) {
      // RFC 3629 §3: the lead byte's high bits give the sequence length.
      if ((byte & 0x80U) == 0x00U) {
        return true;  // 0xxxxxxx: a whole code point, U+0000..U+007F
      }
      if ((byte & 0xE0U) == 0xC0U) {
        length_ = 2;  // 110xxxxx
      } else if ((byte & 0xF0U) == 0xE0U) {
        length_ = 3;  // 1110xxxx
      } else if ((byte & 0xF8U) == 0xF0U) {
        length_ = 4;  // 11110xxx
      } else {
        failed_ = true;  // 10xxxxxx out of place, or 11111xxx
        return false;
      }
      size_ = 0;
    } else if ((byte & 0xC0U) != 0x80U) {
      failed_ = true;  // every byte after the lead is 10xxxxxx
      return false;
    }
    bytes_[size_++] = byte;
    if (!can_complete()) {
      failed_ = true;
      return false;
    }
    if (size_ == length_) {
      length_ = 0;
    }
    return true;
  }

  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] bool complete() const { return !failed_ && length_ == 0; }

 private:
  /// The code point the sequence gives when its missing bytes are all `filler`.
  [[nodiscard]] std::uint32_t decode_with(std::uint8_t filler) const {
    static constexpr std::array<std::uint8_t, 5> kLeadMask = {0, 0, 0x1F, 0x0F, 0x07};
    std::uint32_t code_point = bytes_[0] & kLeadMask[length_];
    for (std::size_t i = 1; i < length_; ++i) {
      const std::uint8_t byte = i < size_ ? bytes_[i] : filler;
      code_point = (code_point << 6U) | (byte & 0x3FU);
    }
    return code_point;
  }

  /// True when some way of finishing the sequence gives a valid code point. The bytes still
  /// missing can make any value between "all 80" and "all BF", so the question is whether that
  /// interval meets the valid code points of this length: the shortest-form range, less the
  /// surrogates U+D800..U+DFFF.
  [[nodiscard]] bool can_complete() const {
    static constexpr std::array<std::uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
    static constexpr std::array<std::uint32_t, 5> kMax = {0, 0, 0x7FF, 0xFFFF, 0x10FFFF};
    const std::uint32_t low = std::max(decode_with(0x80), kMin[length_]);
    const std::uint32_t high = std::min(decode_with(0xBF), kMax[length_]);
    if (low > high) {
      return false;
    }
    return !(low >= 0xD800 && high <= 0xDFFF);
  }

  std::array<std::uint8_t, 4> bytes_ = {};
  std::size_t length_ = 0;  // length of the sequence in progress; 0 between code points
  std::size_t size_ = 0;    // bytes of it seen so far
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  std::uint32_t seed = data[0];
  const std::size_t max_piece = seed == 0 ? 0 : 1 + seed % 19;  // 19 spans two ASCII words and more
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ws::Utf8Validator validator;
  ReferenceValidator reference;
  check(validator.complete() && !validator.failed(), "a new validator holds the empty text");
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t piece = text.size() - start;
    if (max_piece != 0) {
      seed = seed * 1103515245U + 12345U;
      piece = std::min<std::size_t>(piece, 1 + (seed >> 16U) % max_piece);
    }
    for (std::size_t i = start; i < start + piece; ++i) {
      reference.push(static_cast<std::uint8_t>(text[i]));
    }
    const bool ok = validator.feed(text.substr(start, piece));
    start += piece;
    check(ok == !reference.failed(), "feed() fails exactly when the reference does (fail fast)");
    check(validator.failed() == reference.failed(), "failed() agrees with the reference");
    check(validator.complete() == reference.complete(), "complete() agrees with the reference");
  }
  check(ws::is_valid_utf8(text) == reference.complete(), "is_valid_utf8 agrees with the reference");

  // Fed again after reset(), all at once, it gives the same answer.
  validator.reset();
  check(validator.feed(text) == !reference.failed(), "reset() starts over");
  check(validator.complete() == reference.complete(), "reset() starts over (complete)");
  if (reference.failed()) {
    check(!validator.feed("a") && validator.failed(), "a failed validator stays failed");
  }
  return 0;
}

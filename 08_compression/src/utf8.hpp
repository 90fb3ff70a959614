// UTF-8 validation (RFC 3629), as required for text messages and close reasons by
// RFC 6455 §5.6 and §8.1. The validator is incremental, so a text message can be checked
// piece by piece as its fragments and socket reads arrive, failing at the first bad byte.
#pragma once

#include <cstdint>
#include <string_view>

namespace ws {

/// Checks a stream of bytes for well-formed UTF-8, one piece at a time.
///
/// The bytes may be split anywhere, even inside a multi-byte sequence: the validator carries
/// the partial sequence over to the next feed(). It rejects everything RFC 3629 forbids:
/// bytes that never occur (C0, C1, F5-FF), overlong encodings, UTF-16 surrogates
/// (U+D800-U+DFFF), code points above U+10FFFF, and continuation bytes out of place.
///
/// Usage: reset() at the start of a message, feed() every piece, and at the end of the
/// message require complete(), which is false when the text stops inside a sequence.
class Utf8Validator {
 public:
  /// Validates the next piece of the stream. Returns false when the piece holds a byte that
  /// cannot continue valid UTF-8, so a bad byte is reported by the very feed() that delivers
  /// it; from then on the validator stays failed and feed() keeps returning false until
  /// reset(). Returns true when every byte so far is valid, which includes ending inside an
  /// unfinished sequence (see complete()).
  bool feed(std::string_view bytes);

  /// True when every byte so far was valid and the last code point is finished, that is,
  /// the bytes fed so far form a complete UTF-8 text (the empty text is one).
  [[nodiscard]] bool complete() const;

  /// True once an invalid byte has been seen.
  [[nodiscard]] bool failed() const;

  /// Forgets everything, ready for a new text.
  void reset();

 private:
  /// The automaton's state; utf8.cpp describes the states. 0 means "between code points".
  std::uint8_t state_ = 0;
};

/// Returns true when `text` is complete, well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace ws

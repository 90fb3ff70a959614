// Tests for utf8.hpp: RFC 3629 well-formedness, incremental across arbitrary splits,
// as RFC 6455 §5.6 and §8.1 require for text messages.
#include "utf8.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ws {
namespace {

struct Utf8Case {
  std::string_view name;
  std::string_view bytes;
  bool valid;
};

// Raw string pieces are spelled with explicit sizes where they contain NUL.
const std::vector<Utf8Case> kCases = {
    {"empty", "", true},
    {"ascii", "Hello, world", true},
    {"nul byte", std::string_view("a\0b", 3), true},
    {"2-byte U+0080", "\xC2\x80", true},
    {"2-byte U+00E9", "\xC3\xA9", true},
    {"2-byte U+07FF", "\xDF\xBF", true},
    {"3-byte U+0800", "\xE0\xA0\x80", true},
    {"3-byte U+20AC", "\xE2\x82\xAC", true},
    {"3-byte U+D7FF", "\xED\x9F\xBF", true},
    {"3-byte U+E000", "\xEE\x80\x80", true},
    {"3-byte U+FFFD", "\xEF\xBF\xBD", true},
    {"3-byte U+FFFF", "\xEF\xBF\xBF", true},
    {"4-byte U+10000", "\xF0\x90\x80\x80", true},
    {"4-byte U+1F600", "\xF0\x9F\x98\x80", true},
    {"4-byte U+40000", "\xF1\x80\x80\x80", true},
    {"4-byte U+10FFFF", "\xF4\x8F\xBF\xBF", true},
    {"mixed", "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!", true},
    {"greek kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", true},
    // Overlong forms: a code point written with more bytes than it needs.
    {"overlong 2-byte NUL", "\xC0\x80", false},
    {"overlong 2-byte '/'", "\xC0\xAF", false},
    {"overlong 2-byte U+007F", "\xC1\xBF", false},
    {"overlong 3-byte NUL", "\xE0\x80\x80", false},
    {"overlong 3-byte U+07FF", "\xE0\x9F\xBF", false},
    {"overlong 4-byte NUL", "\xF0\x80\x80\x80", false},
    {"overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF", false},
    {"5-byte form", "\xF8\x88\x80\x80\x80", false},
    {"6-byte form", "\xFC\x84\x80\x80\x80\x80", false},
    // UTF-16 surrogates are not characters.
    {"surrogate U+D800", "\xED\xA0\x80", false},
    {"surrogate U+DBFF", "\xED\xAF\xBF", false},
    {"surrogate U+DC00", "\xED\xB0\x80", false},
    {"surrogate U+DFFF", "\xED\xBF\xBF", false},
    {"surrogate pair", "\xED\xA0\x80\xED\xB0\x80", false},
    // Beyond Unicode.
    {"U+110000", "\xF4\x90\x80\x80", false},
    {"U+13FFFF", "\xF4\xBF\xBF\xBF", false},
    {"F5 lead", "\xF5\x80\x80\x80", false},
    {"FF byte", "\xFF", false},
    {"FE byte", "\xFE", false},
    // Continuation bytes out of place.
    {"lone continuation", "\x80", false},
    {"continuation after ascii", "a\xBF", false},
    {"2-byte lead then ascii",
     "\xC3"
     "a",
     false},
    {"3-byte lead then ascii",
     "\xE2\x82"
     "a",
     false},
    {"4-byte lead then ascii",
     "\xF0\x9F\x98"
     "a",
     false},
    {"too many continuations", "\xC3\xA9\xA9", false},
    // Truncated at the end: every byte is fine but the text is not complete.
    {"truncated 2-byte", "\xC3", false},
    {"truncated 3-byte after 1", "\xE2", false},
    {"truncated 3-byte after 2", "\xE2\x82", false},
    {"truncated 4-byte after 3", "\xF0\x9F\x98", false},
    {"truncated after text", "abc\xF0\x9F", false},
    // Invalid in the middle of otherwise valid text.
    {"invalid in middle",
     "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-\xED\xA0\x80-UTF-8!!", false},
    {"ff in long ascii",
     "abcdefghijklmnopqrstuvwxyz\xFF"
     "abcdefghijklmnop",
     false},
};

TEST(IsValidUtf8, JudgesEveryCase) {
  for (const Utf8Case& c : kCases) {
    EXPECT_EQ(is_valid_utf8(c.bytes), c.valid) << c.name;
  }
}

// Feeds `bytes` as pieces that end at the given cut points, and returns whether the
// validator ends complete with no failure.
bool valid_when_split(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  Utf8Validator validator;
  std::size_t start = 0;
  for (const std::size_t cut : cuts) {
    validator.feed(bytes.substr(start, cut - start));
    start = cut;
  }
  validator.feed(bytes.substr(start));
  return !validator.failed() && validator.complete();
}

TEST(Utf8Validator, GivesTheSameAnswerForEverySplitIntoTwoAndThree) {
  for (const Utf8Case& c : kCases) {
    const std::size_t n = c.bytes.size();
    for (std::size_t i = 0; i <= n; ++i) {
      ASSERT_EQ(valid_when_split(c.bytes, {i}), c.valid) << c.name << " split at " << i;
      for (std::size_t j = i; j <= n; ++j) {
        ASSERT_EQ(valid_when_split(c.bytes, {i, j}), c.valid)
            << c.name << " split " << i << "," << j;
      }
    }
  }
}

TEST(Utf8Validator, GivesTheSameAnswerByteByByte) {
  for (const Utf8Case& c : kCases) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < c.bytes.size(); ++i) {
      cuts.push_back(i);
    }
    EXPECT_EQ(valid_when_split(c.bytes, cuts), c.valid) << c.name;
  }
}

TEST(Utf8Validator, FailsAtTheFirstBadByteNotAtTheEnd) {
  // 40 ASCII bytes, one bad byte, then more ASCII: the piece holding the bad byte fails.
  const std::string text = std::string(40, 'a') + "\xC0" + std::string(40, 'b');
  Utf8Validator validator;
  EXPECT_TRUE(validator.feed(std::string_view(text).substr(0, 40)));
  EXPECT_FALSE(validator.feed(std::string_view(text).substr(40, 1)));
  EXPECT_TRUE(validator.failed());
}

TEST(Utf8Validator, StaysFailedAfterAnInvalidByte) {
  Utf8Validator validator;
  EXPECT_FALSE(validator.feed("\xFF"));
  EXPECT_FALSE(validator.feed("perfectly fine ascii"));
  EXPECT_FALSE(validator.feed(""));
  EXPECT_FALSE(validator.complete());
  EXPECT_TRUE(validator.failed());
}

TEST(Utf8Validator, ResetStartsOver) {
  Utf8Validator validator;
  EXPECT_FALSE(validator.feed("\xFF"));
  validator.reset();
  EXPECT_FALSE(validator.failed());
  EXPECT_TRUE(validator.complete());
  EXPECT_TRUE(validator.feed("\xC3"));
  EXPECT_FALSE(validator.complete());
  validator.reset();
  EXPECT_TRUE(validator.complete());
}

TEST(Utf8Validator, IsCompleteOnlyOnACodePointBoundary) {
  Utf8Validator validator;
  EXPECT_TRUE(validator.complete());
  const std::string_view emoji = "\xF0\x9F\x98\x80";
  for (std::size_t i = 0; i < emoji.size(); ++i) {
    EXPECT_TRUE(validator.feed(emoji.substr(i, 1)));
    EXPECT_EQ(validator.complete(), i + 1 == emoji.size()) << "after byte " << i;
  }
}

// A slow, obviously-correct decoder written straight from the bit patterns of RFC 3629 §3,
// to check the automaton against.
bool reference_is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (b0 < 0x80U) {
      length = 1;
      cp = b0;
    } else if ((b0 & 0xE0U) == 0xC0U) {
      length = 2;
      cp = b0 & 0x1FU;
    } else if ((b0 & 0xF0U) == 0xE0U) {
      length = 3;
      cp = b0 & 0x0FU;
    } else if ((b0 & 0xF8U) == 0xF0U) {
      length = 4;
      cp = b0 & 0x07U;
    } else {
      return false;
    }
    if (i + length > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      if ((b & 0xC0U) != 0x80U) {
        return false;
      }
      cp = (cp << 6U) | (b & 0x3FU);
    }
    const std::array<std::uint32_t, 5> min_for_length = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

TEST(Utf8Validator, AgreesWithADirectDecoderOnEveryTwoAndThreeByteSequence) {
  // Every non-ASCII lead byte, followed by every second byte, then by a few third bytes.
  std::string s(3, '\0');
  for (unsigned b0 = 0x80; b0 <= 0xFF; ++b0) {
    for (unsigned b1 = 0; b1 <= 0xFF; ++b1) {
      s.resize(2);
      s[0] = static_cast<char>(b0);
      s[1] = static_cast<char>(b1);
      ASSERT_EQ(is_valid_utf8(s), reference_is_valid_utf8(s)) << std::hex << b0 << " " << b1;
      for (const unsigned b2 : {0x00U, 0x41U, 0x80U, 0x8FU, 0x90U, 0x9FU, 0xA0U, 0xBFU, 0xC0U}) {
        s.resize(3);
        s[2] = static_cast<char>(b2);
        ASSERT_EQ(is_valid_utf8(s), reference_is_valid_utf8(s))
            << std::hex << b0 << " " << b1 << " " << b2;
        s += "\x80";
        ASSERT_EQ(is_valid_utf8(s), reference_is_valid_utf8(s))
            << std::hex << b0 << " " << b1 << " " << b2 << " 80";
      }
    }
  }
}

TEST(Utf8Validator, FastPathHandlesEveryAlignmentOfABadByte) {
  // The ASCII fast path reads 8 bytes at a time; put the bad byte at every position of such
  // a block, with every amount of ASCII in front.
  for (std::size_t before = 0; before < 24; ++before) {
    for (std::size_t after = 0; after < 10; ++after) {
      const std::string text = std::string(before, 'x') + "\x80" + std::string(after, 'y');
      ASSERT_FALSE(is_valid_utf8(text)) << before << " " << after;
      const std::string good = std::string(before, 'x') + "\xC3\xA9" + std::string(after, 'y');
      ASSERT_TRUE(is_valid_utf8(good)) << before << " " << after;
    }
  }
}

}  // namespace
}  // namespace ws

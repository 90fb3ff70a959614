// Cases for UTF-8 in text messages (RFC 6455 §5.6, §8.1; RFC 3629), modelled on section 6 of
// Autobahn|Testsuite, including its fail-fast cases.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {
// ---------------------------------------------------------------------------------------------
// Section 6: UTF-8 in text messages (RFC 6455 §5.6, §8.1; RFC 3629)
// ---------------------------------------------------------------------------------------------

// Autobahn 6.1.1; RFC 6455 §5.6: an empty text message is valid.
TESTER_CASE(utf8, Case6_1_1_EchoesEmptyText, "§5.6") {
  report(run_echo({text_frame("")}, {text_event("")}));
}

// Autobahn 6.1.2; RFC 6455 §5.4: empty fragments are allowed.
TESTER_CASE(utf8, Case6_1_2_EchoesTextOfThreeEmptyFragments, "§5.4") {
  report(run_echo({text_frame("", false), continuation_frame("", false), continuation_frame("")},
                  {text_event("")}));
}

// Autobahn 6.1.3; RFC 6455 §5.4.
TESTER_CASE(utf8, Case6_1_3_EchoesTextWithEmptyFirstAndLastFragments, "§5.4") {
  report(run_echo({text_frame("", false), continuation_frame("middle frame payload", false),
                   continuation_frame("")},
                  {text_event("middle frame payload")}));
}

// Autobahn 6.2.1; RFC 6455 §5.6.
TESTER_CASE(utf8, Case6_2_1_EchoesMultiByteTextInOneFrame, "§5.6") {
  report(run_echo({text_frame(kHelloUtf8)}, {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.2; RFC 6455 §5.6: fragments split on code point boundaries.
TESTER_CASE(utf8, Case6_2_2_EchoesMultiByteTextFragmentedAtCodePoints, "§5.6") {
  std::vector<FrameSpec> frames;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= kHelloUtf8.size(); ++i) {
    const bool boundary =
        i == kHelloUtf8.size() || (static_cast<std::uint8_t>(kHelloUtf8[i]) & 0xC0U) != 0x80U;
    if (!boundary) {
      continue;
    }
    const std::string piece = kHelloUtf8.substr(start, i - start);
    const bool fin = i == kHelloUtf8.size();
    frames.push_back(frames.empty() ? text_frame(piece, fin) : continuation_frame(piece, fin));
    start = i;
  }
  report(run_echo(frames, {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.3; RFC 6455 §5.6: validity is a property of the whole message, so a code point may
// span fragments.
TESTER_CASE(utf8, Case6_2_3_EchoesMultiByteTextInOneByteFragments, "§5.6") {
  report(run_echo(one_byte_fragments(opcode::kText, kHelloUtf8), {text_event(kHelloUtf8)}));
}

// Autobahn 6.2.4; RFC 6455 §5.6.
TESTER_CASE(utf8, Case6_2_4_EchoesKosmeInOneByteFragments, "§5.6") {
  report(run_echo(one_byte_fragments(opcode::kText, kKosme), {text_event(kKosme)}));
}

// Autobahn 6.2.x (every split point); RFC 6455 §5.6: the message split in two at each byte
// boundary, one message per split point on one connection.
TESTER_CASE(utf8, Case6_2_x_EchoesMultiByteTextSplitInTwoAtEveryByte, "§5.6") {
  const std::string message = kHelloUtf8 + kKosme + "𝄞";
  std::vector<FrameSpec> frames;
  std::vector<Event> expected;
  for (std::size_t split = 1; split < message.size(); ++split) {
    frames.push_back(text_frame(message.substr(0, split), false));
    frames.push_back(continuation_frame(message.substr(split)));
    expected.push_back(text_event(message));
  }
  report(run_echo(frames, expected));
}

// Autobahn 6.3.1; RFC 6455 §8.1: invalid UTF-8 (here a UTF-16 surrogate) fails with 1007.
TESTER_CASE(utf8, Case6_3_1_FailsOnSurrogateInTextWith1007, "§8.1") {
  report(run_failure({text_frame(kKosmeSurrogateEdited)}, {close_code::kInvalidPayload}));
}

// Autobahn 6.3.2; RFC 6455 §8.1.
TESTER_CASE(utf8, Case6_3_2_FailsOnSurrogateInOneByteFragmentsWith1007, "§8.1") {
  report(run_failure(one_byte_fragments(opcode::kText, kKosmeSurrogateEdited),
                     {close_code::kInvalidPayload}));
}

// Autobahn 6.x; RFC 6455 §8.1: an invalid sequence split across two fragments is still invalid.
TESTER_CASE(utf8, Case6_x_FailsOnSurrogateSplitAcrossFragmentsWith1007, "§8.1") {
  report(run_failure({text_frame(kKosme + from_hex("ed"), false),
                      continuation_frame(from_hex("a0 80") + "edited")},
                     {close_code::kInvalidPayload}));
}

// Autobahn 6.x; RFC 6455 §8.1: a sequence cut off by the final (empty) fragment is invalid.
TESTER_CASE(utf8, Case6_x_FailsOnSequenceTruncatedByEmptyFinalFragmentWith1007, "§8.1") {
  report(run_failure({text_frame(kKosme + from_hex("ce"), false), continuation_frame("")},
                     {close_code::kInvalidPayload}));
}

// The 6.4.x payload: κόσμε, then U+110000 encoded as F4 90 80 80 (above U+10FFFF), then "edited".
const std::string kKosmeTooLargeEdited = kKosme + from_hex("f4 90 80 80") + "edited";

// Autobahn 6.4.1; RFC 6455 §8.1: the second fragment makes the message invalid; the server must
// fail then, without waiting for the third.
TESTER_CASE(utf8, Case6_4_1_FailsFastOnInvalidUtf8InSecondFragmentWith1007, "§8.1") {
  report(run_fail_fast(encode_frame(text_frame(kKosme, false)),
                       encode_frame(continuation_frame(from_hex("f4 90 80 80"), false)),
                       encode_frame(continuation_frame("edited"))));
}

// Autobahn 6.4.2; RFC 6455 §8.1: F4 ends the first fragment (a valid prefix); the 0x90 that
// follows can never be completed into a code point <= U+10FFFF.
TESTER_CASE(utf8, Case6_4_2_FailsFastOnInvalidUtf8ByteMidCodePointAcrossFragmentsWith1007, "§8.1") {
  report(run_fail_fast(encode_frame(text_frame(kKosme + from_hex("f4"), false)),
                       encode_frame(continuation_frame(from_hex("90"), false)),
                       encode_frame(continuation_frame(from_hex("80 80") + "edited"))));
}

// Autobahn 6.4.3; RFC 6455 §8.1: one frame delivered in three parts; the server must fail on the
// invalid bytes before the rest of the frame is sent.
TESTER_CASE(utf8, Case6_4_3_FailsFastOnInvalidUtf8MidFrameWith1007, "§8.1") {
  const std::string frame = encode_frame(text_frame(kKosmeTooLargeEdited));
  const ThreeParts parts =
      split3(frame, masked_header_size(kKosmeTooLargeEdited.size()) + kKosme.size(), 4);
  report(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
}

// Autobahn 6.4.4; RFC 6455 §8.1: as 6.4.3, but the frame stops right after F4 and the next part
// is the single byte 0x90 that makes the sequence impossible.
TESTER_CASE(utf8, Case6_4_4_FailsFastOnInvalidUtf8ByteMidCodePointMidFrameWith1007, "§8.1") {
  const std::string frame = encode_frame(text_frame(kKosmeTooLargeEdited));
  const ThreeParts parts =
      split3(frame, masked_header_size(kKosmeTooLargeEdited.size()) + kKosme.size() + 1, 1);
  report(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
}

struct Utf8Case {
  const char* name;
  std::string bytes;
  bool valid;
};
std::vector<Utf8Case> utf8_cases() {
  return {
      // Valid: Autobahn 6.2, 6.5, 6.7 (first code point of each length), 6.9-6.11 (boundaries),
      // 6.22 (noncharacters are valid UTF-8), 6.23 (U+FFFD).
      {"Case6_2_1_HelloLatin1", kHelloUtf8, true},
      {"Case6_5_1_Kosme", kKosme, true},
      {"Case6_7_1_U0000", from_hex("00"), true},
      {"Case6_7_2_U0080", from_hex("c2 80"), true},
      {"Case6_7_3_U0800", from_hex("e0 a0 80"), true},
      {"Case6_7_4_U10000", from_hex("f0 90 80 80"), true},
      {"Case6_9_1_U007F", from_hex("7f"), true},
      {"Case6_9_2_U07FF", from_hex("df bf"), true},
      {"Case6_9_3_UFFFF", from_hex("ef bf bf"), true},
      {"Case6_9_4_U10FFFF", from_hex("f4 8f bf bf"), true},
      {"Case6_11_1_UD7FF", from_hex("ed 9f bf"), true},
      {"Case6_11_2_UE000", from_hex("ee 80 80"), true},
      {"Case6_11_3_UFFFD", from_hex("ef bf bd"), true},
      {"Case6_22_1_UFFFE", from_hex("ef bf be"), true},
      {"Case6_22_2_U1FFFF", from_hex("f0 9f bf bf"), true},
      {"Case6_22_3_U10FFFE", from_hex("f4 8f bf be"), true},
      {"Case6_23_1_AllBoundariesTogether",
       from_hex("7f c2 80 df bf e0 a0 80 ef bf bf f0 90 80 80 f4 8f bf bf"), true},
      // Invalid: Autobahn 6.8 (5/6-byte forms), 6.10 (above U+10FFFF), 6.12 (stray continuation
      // bytes), 6.13 (lonely start bytes), 6.14 (last byte missing), 6.15 (concatenated
      // incomplete sequences), 6.16 (impossible bytes), 6.17-6.19 (overlong), 6.20-6.21
      // (surrogates).
      {"Case6_8_1_FiveByteForm", from_hex("f8 88 80 80 80"), false},
      {"Case6_8_2_SixByteForm", from_hex("fc 84 80 80 80 80"), false},
      {"Case6_10_1_U110000", from_hex("f4 90 80 80"), false},
      {"Case6_10_2_U1FFFFF", from_hex("f7 bf bf bf"), false},
      {"Case6_10_3_LeadF5", from_hex("f5 80 80 80"), false},
      {"Case6_12_1_LoneContinuation80", from_hex("80"), false},
      {"Case6_12_2_LoneContinuationBF", from_hex("bf"), false},
      {"Case6_12_3_ContinuationPair", from_hex("80 bf"), false},
      {"Case6_12_4_ContinuationRun", from_hex("80 bf 80 bf"), false},
      {"Case6_13_1_LoneC0BeforeSpace", from_hex("c0 20"), false},
      {"Case6_13_2_LoneC2BeforeSpace", from_hex("c2 20"), false},
      {"Case6_13_3_LoneE0BeforeSpace", from_hex("e0 20"), false},
      {"Case6_13_4_LoneF0BeforeSpace", from_hex("f0 20"), false},
      {"Case6_14_1_TruncatedTwoByte", from_hex("c2"), false},
      {"Case6_14_2_TruncatedThreeByte", from_hex("e0 a0"), false},
      {"Case6_14_3_TruncatedFourByte", from_hex("f0 90 80"), false},
      {"Case6_14_4_TruncatedMaxTwoByte", from_hex("df"), false},
      {"Case6_14_5_TruncatedMaxThreeByte", from_hex("ef bf"), false},
      {"Case6_14_6_TruncatedMaxFourByte", from_hex("f4 8f bf"), false},
      {"Case6_14_7_KosmeThenTruncated", kKosme + from_hex("ce"), false},
      {"Case6_15_1_ConcatenatedTruncated", from_hex("c2 e0 a0 f0 90 80"), false},
      {"Case6_16_1_ByteFE", from_hex("fe"), false},
      {"Case6_16_2_ByteFF", from_hex("ff"), false},
      {"Case6_16_3_FEFEFFFF", from_hex("fe fe ff ff"), false},
      {"Case6_17_1_OverlongSlash2", from_hex("c0 af"), false},
      {"Case6_17_2_OverlongSlash3", from_hex("e0 80 af"), false},
      {"Case6_17_3_OverlongSlash4", from_hex("f0 80 80 af"), false},
      {"Case6_17_4_OverlongSlash5", from_hex("f8 80 80 80 af"), false},
      {"Case6_18_1_MaxOverlong2", from_hex("c1 bf"), false},
      {"Case6_18_2_MaxOverlong3", from_hex("e0 9f bf"), false},
      {"Case6_18_3_MaxOverlong4", from_hex("f0 8f bf bf"), false},
      {"Case6_19_1_OverlongNul2", from_hex("c0 80"), false},
      {"Case6_19_2_OverlongNul3", from_hex("e0 80 80"), false},
      {"Case6_19_3_OverlongNul4", from_hex("f0 80 80 80"), false},
      {"Case6_20_1_UD800", from_hex("ed a0 80"), false},
      {"Case6_20_2_UDB7F", from_hex("ed ad bf"), false},
      {"Case6_20_3_UDB80", from_hex("ed ae 80"), false},
      {"Case6_20_4_UDBFF", from_hex("ed af bf"), false},
      {"Case6_20_5_UDC00", from_hex("ed b0 80"), false},
      {"Case6_20_6_UDF80", from_hex("ed be 80"), false},
      {"Case6_20_7_UDFFF", from_hex("ed bf bf"), false},
      {"Case6_21_1_PairD800DC00", from_hex("ed a0 80 ed b0 80"), false},
      {"Case6_21_2_PairDBFFDFFF", from_hex("ed af bf ed bf bf"), false},
      {"Case6_x_OverlongInsideText", "Hello" + from_hex("c0 af") + "World", false},
  };
}

// Autobahn 6.5-6.23, in one frame and one byte per fragment; RFC 6455 §5.6, §8.1 with RFC 3629
// §3-4: valid text is echoed, invalid text fails with 1007, and the verdict may not change when
// code points are split across fragments.
void echo_or_fail(const Utf8Case& c, const std::vector<FrameSpec>& frames) {
  if (c.valid) {
    report(run_echo(frames, {text_event(c.bytes)}));
  } else {
    report(run_failure(frames, {close_code::kInvalidPayload}));
  }
}

const bool kUtf8InOneFrame = add_family(
    "utf8", "§8.1", utf8_cases(),
    [](const Utf8Case& c) {
      return std::string(c.name) + (c.valid ? "InOneFrameIsEchoed" : "InOneFrameFailsWith1007");
    },
    [](const Utf8Case& c) { echo_or_fail(c, {text_frame(c.bytes)}); });

const bool kUtf8InOneByteFragments = add_family(
    "utf8", "§8.1", utf8_cases(),
    [](const Utf8Case& c) {
      return std::string(c.name) +
             (c.valid ? "InOneByteFragmentsIsEchoed" : "InOneByteFragmentsFailsWith1007");
    },
    [](const Utf8Case& c) { echo_or_fail(c, one_byte_fragments(opcode::kText, c.bytes)); });

// Autobahn 6.6.1-6.6.11; RFC 6455 §8.1: each prefix of κόσμε is valid exactly when it ends on a
// code point boundary (after 2, 5, 7, 9 or 11 bytes).
const bool kKosmePrefixes = add_family(
    "utf8", "§8.1", std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
    [](std::size_t length) {
      return "Case6_6_" + std::to_string(length) + "_KosmePrefixOf" + std::to_string(length) +
             "Bytes";
    },
    [](std::size_t length) {
      const std::string prefix = kKosme.substr(0, length);
      const bool valid = length == 2 || length == 5 || length == 7 || length == 9 || length == 11;
      echo_or_fail(Utf8Case{"", prefix, valid}, {text_frame(prefix)});
    });

struct FailFastCase {
  const char* name;
  std::string invalid;
};

// Autobahn 6.4.3 generalised; RFC 6455 §8.1: a 300-byte text frame whose first bytes are κόσμε
// followed by an invalid sequence; the server must close with 1007 before the remaining ~280
// bytes of the frame are sent.
const bool kFailFast = add_family(
    "utf8", "§8.1",
    std::vector<FailFastCase>{FailFastCase{"Case6_4_x_Overlong", from_hex("c0 af")},
                              FailFastCase{"Case6_4_x_Surrogate", from_hex("ed a0 80")},
                              FailFastCase{"Case6_4_x_AboveU10FFFF", from_hex("f4 90 80 80")},
                              FailFastCase{"Case6_4_x_ByteF5", from_hex("f5")},
                              FailFastCase{"Case6_4_x_ByteFF", from_hex("ff")},
                              FailFastCase{"Case6_4_x_LoneContinuation", from_hex("80")}},
    [](const FailFastCase& c) {
      return std::string(c.name) + "FailsWith1007BeforeTheRestOfTheFrameArrives";
    },
    [](const FailFastCase& c) {
      std::string payload = kKosme + c.invalid;
      payload += ascii_payload(300 - payload.size());
      const std::string frame = encode_frame(text_frame(payload));
      const ThreeParts parts =
          split3(frame, masked_header_size(payload.size()) + kKosme.size(), c.invalid.size());
      report(run_fail_fast(parts.prefix, parts.invalid, parts.rest));
    });

}  // namespace
}  // namespace tester

// Tests for close.hpp: close codes on the wire, Close payload encoding and parsing
// (RFC 6455 §5.5.1, §7.4).
#include "close.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ws {
namespace {

std::string payload_with_code(std::uint16_t code, std::string_view reason = {}) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8U));
  payload.push_back(static_cast<char>(code & 0xFFU));
  payload.append(reason);
  return payload;
}

struct CodeRange {
  std::uint32_t first;
  std::uint32_t last;
  bool valid;
};

// Every code from 0 to 65535 falls in exactly one of these ranges.
const std::vector<CodeRange> kCodeRanges = {
    {0, 999, false},       // unused
    {1000, 1003, true},    // normal, going away, protocol error, unsupported data
    {1004, 1004, false},   // reserved
    {1005, 1006, false},   // local only: no status, abnormal closure
    {1007, 1011, true},    // invalid data, policy, too big, extension, internal error
    {1012, 1014, true},    // IANA: service restart, try again later, bad gateway
    {1015, 1015, false},   // local only: TLS handshake
    {1016, 2999, false},   // reserved for the protocol, unassigned
    {3000, 3999, true},    // libraries and frameworks
    {4000, 4999, true},    // applications
    {5000, 65535, false},  // undefined
};

TEST(CloseCode, EveryCodeFromZeroTo65535IsJudgedByItsRange) {
  std::uint32_t expected_next = 0;
  for (const CodeRange& range : kCodeRanges) {
    ASSERT_EQ(range.first, expected_next) << "ranges must tile 0..65535";
    for (std::uint32_t code = range.first; code <= range.last; ++code) {
      ASSERT_EQ(is_valid_received_close_code(static_cast<std::uint16_t>(code)), range.valid)
          << "code " << code;
    }
    expected_next = range.last + 1;
  }
  EXPECT_EQ(expected_next, 65536U);
}

TEST(CloseCode, NamedCodesHaveTheirRfcValues) {
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kNormalClosure), 1000);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kGoingAway), 1001);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kProtocolError), 1002);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kUnsupportedData), 1003);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kNoStatusReceived), 1005);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kAbnormalClosure), 1006);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kInvalidPayloadData), 1007);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kPolicyViolation), 1008);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kMessageTooBig), 1009);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kMandatoryExtension), 1010);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kInternalError), 1011);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kServiceRestart), 1012);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kTryAgainLater), 1013);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kBadGateway), 1014);
  EXPECT_EQ(static_cast<std::uint16_t>(CloseCode::kTlsHandshake), 1015);
}

TEST(CloseStatus, DefaultsToNoStatusReceived) {
  const CloseStatus status;
  EXPECT_EQ(status.code, 1005);
  EXPECT_EQ(status.reason, "");
}

TEST(CloseStatus, MakeCloseStatusCopiesCodeAndReason) {
  const CloseStatus status = make_close_status(CloseCode::kGoingAway, "shutting down");
  EXPECT_EQ(status.code, 1001);
  EXPECT_EQ(status.reason, "shutting down");
}

TEST(EncodeClosePayload, WritesCodeBigEndianThenReason) {
  EXPECT_EQ(encode_close_payload({1000, "bye"}), std::string("\x03\xE8"
                                                             "bye",
                                                             5));
  EXPECT_EQ(encode_close_payload({4999, ""}), std::string("\x13\x87", 2));
  EXPECT_EQ(encode_close_payload({1002, ""}), std::string("\x03\xEA", 2));
}

TEST(EncodeClosePayload, LocalOnlyCodesGiveAnEmptyPayload) {
  for (const std::uint16_t code : std::initializer_list<std::uint16_t>{1005, 1006, 1015}) {
    EXPECT_EQ(encode_close_payload({code, "ignored"}), "") << "code " << code;
  }
  EXPECT_EQ(encode_close_payload(CloseStatus{}), "");
}

TEST(EncodeClosePayload, KeepsAReasonOf123Bytes) {
  const std::string reason(kMaxCloseReasonSize, 'a');
  const std::string payload = encode_close_payload({1000, reason});
  EXPECT_EQ(payload.size(), 125U);
  EXPECT_EQ(payload.substr(2), reason);
}

TEST(EncodeClosePayload, TruncatesALongReasonTo123Bytes) {
  const std::string payload = encode_close_payload({1000, std::string(300, 'x')});
  EXPECT_EQ(payload.size(), 125U);
}

TEST(EncodeClosePayload, TruncatesOnACodePointBoundary) {
  // "é" is 2 bytes (C3 A9), "€" 3 bytes (E2 82 AC), "😀" 4 bytes (F0 9F 98 80). Put each so
  // that it straddles byte 123 in every possible way and check that it is dropped whole.
  struct Case {
    std::string_view code_point;
    std::size_t prefix;
    std::size_t expected_reason_size;
  };
  const std::vector<Case> cases = {
      {"\xC3\xA9", 121, 123},  // ends exactly at 123: kept
      {"\xC3\xA9", 122, 122},  // one byte over: dropped
      {"\xE2\x82\xAC", 120, 123},     {"\xE2\x82\xAC", 121, 121},
      {"\xE2\x82\xAC", 122, 122},     {"\xF0\x9F\x98\x80", 119, 123},
      {"\xF0\x9F\x98\x80", 120, 120}, {"\xF0\x9F\x98\x80", 121, 121},
      {"\xF0\x9F\x98\x80", 122, 122},
  };
  for (const Case& c : cases) {
    const std::string reason = std::string(c.prefix, 'a') + std::string(c.code_point) + "tail";
    const std::string payload = encode_close_payload({1000, reason});
    EXPECT_EQ(payload.size() - 2, c.expected_reason_size) << "prefix " << c.prefix;
    const CloseParseResult parsed = parse_close_payload(payload);
    EXPECT_FALSE(parsed.error.has_value()) << "prefix " << c.prefix;
  }
}

TEST(ParseClosePayload, EmptyPayloadMeansNoStatusReceived) {
  const CloseParseResult result = parse_close_payload("");
  EXPECT_EQ(result.received, (CloseStatus{1005, ""}));
  EXPECT_FALSE(result.error.has_value());
}

TEST(ParseClosePayload, ReadsCodeAndReason) {
  const CloseParseResult result = parse_close_payload(payload_with_code(1000, "bye"));
  EXPECT_EQ(result.received, (CloseStatus{1000, "bye"}));
  EXPECT_FALSE(result.error.has_value());
}

TEST(ParseClosePayload, AcceptsEveryValidCodeAndRejectsEveryOtherWith1002) {
  for (std::uint32_t code = 0; code <= 65535; ++code) {
    const auto code16 = static_cast<std::uint16_t>(code);
    const CloseParseResult result = parse_close_payload(payload_with_code(code16));
    EXPECT_EQ(result.received.code, code16);
    if (is_valid_received_close_code(code16)) {
      ASSERT_FALSE(result.error.has_value()) << "code " << code;
    } else {
      ASSERT_TRUE(result.error.has_value()) << "code " << code;
      ASSERT_EQ(result.error->code, 1002) << "code " << code;
    }
  }
}

TEST(ParseClosePayload, RejectsOneBytePayloadWith1002) {
  const CloseParseResult result = parse_close_payload(std::string_view("\x03", 1));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1002);
}

TEST(ParseClosePayload, RejectsInvalidUtf8ReasonWith1007) {
  const std::vector<std::string_view> bad_reasons = {"\xFF", "\xC0\xAF", "\xED\xA0\x80",
                                                     "ok\xE2\x82", "\x80"};
  for (const std::string_view reason : bad_reasons) {
    const CloseParseResult result = parse_close_payload(payload_with_code(1000, reason));
    ASSERT_TRUE(result.error.has_value());
    EXPECT_EQ(result.error->code, 1007);
  }
}

TEST(ParseClosePayload, AcceptsMultiByteUtf8Reason) {
  const std::string reason = "au revoir \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  const CloseParseResult result = parse_close_payload(payload_with_code(1001, reason));
  EXPECT_FALSE(result.error.has_value());
  EXPECT_EQ(result.received.reason, reason);
}

TEST(ParseClosePayload, AcceptsExactly125BytesAndRejects126With1002) {
  const std::string max_payload = payload_with_code(1000, std::string(123, 'r'));
  EXPECT_FALSE(parse_close_payload(max_payload).error.has_value());
  const std::string too_long = payload_with_code(1000, std::string(124, 'r'));
  const CloseParseResult result = parse_close_payload(too_long);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1002);
}

TEST(ParseClosePayload, InvalidCodeIsReportedBeforeInvalidReason) {
  const CloseParseResult result = parse_close_payload(payload_with_code(1005, "\xFF"));
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 1002);
}

TEST(ParseClosePayload, RoundTripsWithEncode) {
  const std::vector<CloseStatus> statuses = {
      {1000, ""}, {1001, "going away"}, {1011, "oops"}, {3000, "lib"}, {4999, "app \xC3\xA9"}};
  for (const CloseStatus& status : statuses) {
    const CloseParseResult result = parse_close_payload(encode_close_payload(status));
    EXPECT_FALSE(result.error.has_value());
    EXPECT_EQ(result.received, status);
  }
}

TEST(Describe, FormatsCodeAndQuotedReason) {
  EXPECT_EQ(describe({1000, "bye"}), "1000 \"bye\"");
  EXPECT_EQ(describe({1005, ""}), "1005 \"\"");
}

TEST(Describe, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(describe({4000, "a\"b\\c\nd\x7F"}), "4000 \"a\\\"b\\\\c\\x0Ad\\x7F\"");
}

TEST(Describe, KeepsUtf8AsIs) { EXPECT_EQ(describe({1000, "\xC3\xA9"}), "1000 \"\xC3\xA9\""); }

}  // namespace
}  // namespace ws

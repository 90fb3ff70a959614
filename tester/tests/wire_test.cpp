// Self-tests of the tester's own client: it must encode the RFC's examples byte for byte, or
// every verdict it gives would be suspect.
#include "wire.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "cases/common.hpp"
#include "registry.hpp"
#include "session.hpp"

namespace tester {
namespace {

// RFC 6455 §5.7: the specification's masked "Hello" example, byte for byte.
TEST(Wire, EncodesRfcMaskedHelloExample) {
  FrameSpec frame = text_frame("Hello");
  frame.masking_key = {0x37, 0xfa, 0x21, 0x3d};
  EXPECT_EQ(encode_frame(frame), from_hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
}

// RFC 6455 §5.7: unmasked examples, including a fragmented message and a 256-byte binary frame.
TEST(Wire, EncodesRfcUnmaskedExamples) {
  FrameSpec hello = text_frame("Hello");
  hello.masked = false;
  EXPECT_EQ(encode_frame(hello), from_hex("81 05 48 65 6c 6c 6f"));
  FrameSpec first = text_frame("Hel", false);
  first.masked = false;
  EXPECT_EQ(encode_frame(first), from_hex("01 03 48 65 6c"));
  FrameSpec big = binary_frame(std::string(256, 'x'));
  big.masked = false;
  EXPECT_EQ(encode_frame(big).substr(0, 4), from_hex("82 7e 01 00"));
  big.payload = std::string(65536, 'x');
  EXPECT_EQ(encode_frame(big).substr(0, 10), from_hex("82 7f 00 00 00 00 00 01 00 00"));
}

// RFC 6455 §1.3: the sample key's accept value.
TEST(Wire, ComputesRfcSampleAccept) {
  EXPECT_EQ(websocket_accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// RFC 3629 §4 and Unicode Table 3-7: the check the tester applies to the server's close reasons.
TEST(Wire, Utf8CheckFollowsRfc3629) {
  EXPECT_TRUE(is_valid_utf8(from_hex("ce ba e1 bd b9 cf 83 ce bc ce b5")));  // κόσμε
  EXPECT_TRUE(is_valid_utf8(from_hex("f4 8f bf bf")));                       // U+10FFFF
  EXPECT_FALSE(is_valid_utf8(from_hex("f4 90 80 80")));                      // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8(from_hex("ed a0 80")));                         // a surrogate
  EXPECT_FALSE(is_valid_utf8(from_hex("c0 af")));                            // overlong '/'
  EXPECT_FALSE(is_valid_utf8(from_hex("ce")));                               // truncated
}

// The case names become the ids and titles the report prints.
TEST(Registry, NamesBecomeIdsAndTitles) {
  EXPECT_EQ(id_and_title("Case2_5_FailsOnPingWith126Bytes"),
            std::make_pair(std::string("2.5"), std::string("fails on ping with 126 bytes")));
  EXPECT_EQ(id_and_title("Case9_3_x_Text64KiBInFragments"),
            std::make_pair(std::string("9.3.x"), std::string("text 64 KiB in fragments")));
  EXPECT_EQ(id_and_title("Handshake_RejectsPostWith400"),
            std::make_pair(std::string(""), std::string("rejects post with 400")));
}

}  // namespace
}  // namespace tester

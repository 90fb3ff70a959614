// The opening handshake, RFC 6455 §4.2: the accept key and every reason to refuse an upgrade,
// and permessage-deflate's negotiation in the 101 (RFC 7692 §5).
#include "handshake.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ws {
namespace {

HttpRequest parse(const std::string& head) {
  std::string error;
  auto request = parse_request(head, error);
  EXPECT_TRUE(request) << error;
  return request.value_or(HttpRequest{});
}

// The request of RFC 6455 §1.2, with the key of §4.2.2.
std::string rfc_request(const std::string& replace_line = {}, const std::string& with = {}) {
  std::string head =
      "GET /chat HTTP/1.1\r\n"
      "Host: server.example.com\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Origin: http://example.com\r\n"
      "Sec-WebSocket-Protocol: chat, superchat\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "\r\n";
  if (!replace_line.empty()) {
    const auto at = head.find(replace_line);
    head.replace(at, head.find("\r\n", at) + 2 - at, with);
  }
  return head;
}

TEST(Handshake, ComputesTheRfcExampleAcceptKey) {
  // RFC 6455 §1.3 works this exact example.
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AcceptsTheRfcRequestWith101) {
  const auto decision = evaluate_upgrade(parse(rfc_request()), {});
  EXPECT_EQ(decision.status, 101);
  EXPECT_EQ(decision.response,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(Handshake, ChoosesTheFirstOfferedSubprotocolItSupports) {
  const auto decision = evaluate_upgrade(parse(rfc_request()), {"superchat", "chat"});
  EXPECT_EQ(decision.subprotocol, "chat");
  EXPECT_NE(decision.response.find("Sec-WebSocket-Protocol: chat\r\n"), std::string::npos);
}

TEST(Handshake, NeverAnswersASubprotocolTheClientDidNotOffer) {
  const auto decision = evaluate_upgrade(parse(rfc_request()), {"mqtt"});
  EXPECT_EQ(decision.status, 101);
  EXPECT_EQ(decision.subprotocol, "");
  EXPECT_EQ(decision.response.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(Handshake, AcceptsTokensInListsAndAnyCase) {
  // Firefox sends "Connection: keep-alive, Upgrade"; names and tokens are case-insensitive.
  auto head = rfc_request("Connection:", "connection: keep-alive, UPGRADE\r\n");
  head = head.replace(head.find("Upgrade: websocket"), 18, "upgrade: WebSocket");
  EXPECT_EQ(evaluate_upgrade(parse(head), {}).status, 101);
}

struct Refusal {
  std::string name;
  std::string request;
  int status;
  std::string reason_part;
};

class HandshakeRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(HandshakeRefusal, AnswersWithStatusAndOneLineReason) {
  const auto& refusal = GetParam();
  const auto decision = evaluate_upgrade(parse(refusal.request), {});
  EXPECT_EQ(decision.status, refusal.status);
  EXPECT_NE(decision.reason.find(refusal.reason_part), std::string::npos) << decision.reason;
  EXPECT_EQ(decision.response.rfind("HTTP/1.1 " + std::to_string(refusal.status) + " ", 0), 0U);
  EXPECT_EQ(decision.reason.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    EveryRule, HandshakeRefusal,
    ::testing::Values(
        Refusal{"NotGet", "POST" + rfc_request().substr(3), 400, "GET"},
        Refusal{"Http10", rfc_request("GET /chat", "GET /chat HTTP/1.0\r\n"), 400, "HTTP/1.1"},
        Refusal{"NoHost", rfc_request("Host:"), 400, "Host"},
        Refusal{"NoUpgrade", rfc_request("Upgrade:"), 400, "Upgrade"},
        Refusal{"UpgradeNotWebsocket", rfc_request("Upgrade:", "Upgrade: h2c\r\n"), 400, "Upgrade"},
        Refusal{"NoConnectionUpgrade", rfc_request("Connection:", "Connection: keep-alive\r\n"),
                400, "Connection"},
        Refusal{"NoVersion", rfc_request("Sec-WebSocket-Version:"), 400, "Version"},
        Refusal{"NoKey", rfc_request("Sec-WebSocket-Key:"), 400, "Sec-WebSocket-Key"},
        Refusal{"KeyOf15Bytes",
                rfc_request("Sec-WebSocket-Key:", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"),
                400, "Sec-WebSocket-Key"},
        Refusal{
            "KeyNotBase64",
            rfc_request("Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n"),
            400, "Sec-WebSocket-Key"},
        Refusal{"TwoKeys",
                rfc_request("Sec-WebSocket-Key:",
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
                400, "Sec-WebSocket-Key"},
        Refusal{"Version8", rfc_request("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8\r\n"),
                426, "13"}),
    [](const auto& test) { return test.param.name; });

TEST(Handshake, Version426CarriesTheVersionWeSpeak) {
  const auto decision = evaluate_upgrade(
      parse(rfc_request("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 7\r\n")), {});
  EXPECT_NE(decision.response.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(Handshake, ValidatesKeysAsBase64OfSixteenBytes) {
  EXPECT_TRUE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(is_valid_key(""));
  EXPECT_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ"));     // padding missing
  EXPECT_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=x"));   // bad padding
  EXPECT_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZWE="));   // 17 bytes
  EXPECT_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ== "));  // trailing space
}

TEST(Handshake, TellsUpgradeAttemptsFromPageRequests) {
  EXPECT_TRUE(looks_like_upgrade(parse(rfc_request())));
  EXPECT_TRUE(looks_like_upgrade(parse(rfc_request("Upgrade:"))));  // still has the key
  EXPECT_FALSE(looks_like_upgrade(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
}

// --- permessage-deflate (RFC 7692 §5): the offer's answer in the 101 ---

const ServerPolicy kDefaultPolicy{CompressionMode::kNoContextTakeover, 15};

std::string with_extensions(const std::string& value) {
  return rfc_request("Sec-WebSocket-Version:",
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: " + value + "\r\n");
}

TEST(Handshake, AnswersAChromiumOfferWithTheAgreedParameters) {
  // What Chromium and Firefox offer on every connection.
  const auto decision = evaluate_upgrade(
      parse(with_extensions("permessage-deflate; client_max_window_bits")), {}, kDefaultPolicy);
  ASSERT_EQ(decision.status, 101);
  ASSERT_TRUE(decision.compression);
  EXPECT_NE(decision.response.find("\r\nSec-WebSocket-Extensions: permessage-deflate; "
                                   "server_no_context_takeover; client_no_context_takeover\r\n"),
            std::string::npos)
      << decision.response;
}

TEST(Handshake, DeclinesWhatItCannotHonourWithoutAnExtensionsHeader) {
  for (const char* offer : {"permessage-deflate; server_max_window_bits=8",
                            "x-webkit-deflate-frame", "permessage-deflate; foo=1"}) {
    const auto decision = evaluate_upgrade(parse(with_extensions(offer)), {}, kDefaultPolicy);
    EXPECT_EQ(decision.status, 101) << offer;
    EXPECT_FALSE(decision.compression) << offer;
    EXPECT_EQ(decision.response.find("Sec-WebSocket-Extensions"), std::string::npos) << offer;
  }
}

TEST(Handshake, JoinsSeveralExtensionHeaderLinesIntoOneList) {
  // The first line's offer cannot be honoured; the second line's is taken.
  const auto decision = evaluate_upgrade(
      parse(rfc_request(
          "Sec-WebSocket-Version:",
          "Sec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n"
          "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n")),
      {}, kDefaultPolicy);
  ASSERT_TRUE(decision.compression);
  EXPECT_EQ(decision.compression->params.server_max_window_bits, 10);
}

TEST(Handshake, RefusesAnExtensionsHeaderThatDoesNotParseWith400) {
  const auto decision =
      evaluate_upgrade(parse(with_extensions("permessage-deflate; server_max_window_bits=\"10")),
                       {}, kDefaultPolicy);
  EXPECT_EQ(decision.status, 400);
  EXPECT_EQ(decision.reason.rfind("malformed Sec-WebSocket-Extensions: ", 0), 0U)
      << decision.reason;
  EXPECT_EQ(decision.reason.find("malformed", 1), std::string::npos) << "said once";
}

TEST(Handshake, IgnoresExtensionsWhenCompressionIsOff) {
  const auto decision = evaluate_upgrade(parse(with_extensions("permessage-deflate; \"broken")), {},
                                         ServerPolicy{CompressionMode::kOff, 15});
  EXPECT_EQ(decision.status, 101);
  EXPECT_FALSE(decision.compression);
  EXPECT_EQ(decision.response.find("Sec-WebSocket-Extensions"), std::string::npos);
}

}  // namespace
}  // namespace ws

// HTTP/1.1 request parsing for the handshake (RFC 9112): what is accepted and what is refused.
#include "http.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ws {
namespace {

using namespace std::string_literals;

TEST(Http, FindsTheEndOfTheHeadAndLeavesWhatFollows) {
  const std::string buffer = "GET / HTTP/1.1\r\nHost: a\r\n\r\n\x81\x85";
  EXPECT_EQ(find_head_end(buffer), buffer.size() - 2);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r"), std::nullopt);
}

TEST(Http, ParsesRequestLineAndHeaders) {
  std::string error;
  const auto request = parse_request(
      "GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nUpgrade:  websocket \r\n\r\n",
      error);
  ASSERT_TRUE(request) << error;
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->target, "/chat?x=1");
  EXPECT_EQ(request->version, "HTTP/1.1");
  EXPECT_EQ(request->header("host"), "example.com");
  EXPECT_EQ(request->header("X-EMPTY"), "");
  EXPECT_EQ(request->header("upgrade"), "websocket");  // optional whitespace trimmed
  EXPECT_EQ(request->header("Origin"), std::nullopt);
}

TEST(Http, SplitsTokenListsAcrossRepeatedFields) {
  std::string error;
  const auto request = parse_request(
      "GET / HTTP/1.1\r\nConnection: keep-alive,  Upgrade\r\nconnection: close\r\n\r\n", error);
  ASSERT_TRUE(request) << error;
  EXPECT_EQ(request->header_tokens("Connection"),
            (std::vector<std::string>{"keep-alive", "Upgrade", "close"}));
  EXPECT_TRUE(request->has_token("connection", "upgrade"));
  EXPECT_FALSE(request->has_token("connection", "upgrad"));
  EXPECT_EQ(request->header_count("CONNECTION"), 2U);
}

class HttpRejects : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(HttpRejects, MalformedHeadWithAReason) {
  std::string error;
  EXPECT_FALSE(parse_request(GetParam().first, error));
  EXPECT_NE(error.find(GetParam().second), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, HttpRejects,
    ::testing::Values(
        std::pair{"GET /\r\n\r\n", "request line"},
        std::pair{"GET  / HTTP/1.1\r\n\r\n", "request line"},
        std::pair{"GET / HTTP/1.1 extra\r\n\r\n", "request line"},
        std::pair{"G(T / HTTP/1.1\r\n\r\n", "method"},
        std::pair{"GET chat HTTP/1.1\r\n\r\n", "target"},
        std::pair{"GET / HTTX/1.1\r\n\r\n", "version"},
        std::pair{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "header field"},
        std::pair{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "header field"},
        std::pair{"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "folding"},
        // Header injection: a bare CR or LF inside a value must not start a new field.
        std::pair{"GET / HTTP/1.1\r\nX-A: a\rX-B: b\r\n\r\n", "control character"},
        std::pair{"GET / HTTP/1.1\r\nX-A: a\nX-B: b\r\n\r\n", "control character"},
        std::pair{"GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s, "control character"}));

TEST(Http, RefusesMoreThanTheMaximumNumberOfFields) {
  std::string head = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kMaxHeaderCount; ++i) {
    head += "X-" + std::to_string(i) + ": v\r\n";
  }
  head += "\r\n";
  std::string error;
  EXPECT_FALSE(parse_request(head, error));
  EXPECT_NE(error.find("too many"), std::string::npos);
}

TEST(Http, BuildsACompleteResponse) {
  EXPECT_EQ(http_response(404, "text/plain", "nope\n"),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
            "Connection: close\r\n\r\nnope\n");
}

}  // namespace
}  // namespace ws

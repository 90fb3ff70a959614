// The command line every stage's server shares.
#include "options.hpp"

#include <gtest/gtest.h>

#include <array>
#include <utility>

namespace ws {
namespace {

TEST(Options, DefaultsAreLoopbackPort8080NoSubprotocols) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({}, options, error), ParseOutcome::kRun);
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 8080);
  EXPECT_EQ(options.max_message, 4096U);
  EXPECT_EQ(options.rate_limit, 10);
  EXPECT_TRUE(options.protocols.empty());
}

TEST(Options, ParsesBothFlagForms) {
  Options options;
  std::string error;
  EXPECT_EQ(
      parse_options({"--host", "::1", "--port=0", "--protocol", "chat, superchat"}, options, error),
      ParseOutcome::kRun);
  EXPECT_EQ(options.host, "::1");
  EXPECT_EQ(options.port, 0);
  EXPECT_EQ(options.protocols, (std::vector<std::string>{"chat", "superchat"}));
}

TEST(Options, RejectsUnknownFlagsAndBadPorts) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--nope"}, {"--port"}, {"--port", "65536"}, {"--port", "12x"}, {"--port="}, {"x"}}) {
    Options options;
    std::string error;
    EXPECT_EQ(parse_options(args, options, error), ParseOutcome::kError) << args[0];
    EXPECT_FALSE(error.empty());
  }
}

TEST(Options, HelpWins) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({"--port", "1", "--help"}, options, error), ParseOutcome::kHelp);
  EXPECT_NE(usage().find("--port"), std::string::npos);
}

TEST(Options, MaxMessageTakesBytesOrAUnit) {
  const std::vector<std::pair<std::string, std::uint64_t>> good = {
      {"4096", 4096}, {"64K", 65536}, {"16M", 16777216}, {"1KiB", 1024}};
  for (const auto& [text, bytes] : good) {
    Options options;
    std::string error;
    EXPECT_EQ(parse_options({"--max-message", text}, options, error), ParseOutcome::kRun) << text;
    EXPECT_EQ(options.max_message, bytes) << text;
  }
  for (const std::string text : {"0", "-1", "12G", "K", "1.5M"}) {
    Options options;
    std::string error;
    EXPECT_EQ(parse_options({"--max-message", text}, options, error), ParseOutcome::kError) << text;
  }
}

TEST(Options, DurationsNeedAUnit) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({"--ping-period", "200ms", "--pong-wait=2s"}, options, error),
            ParseOutcome::kRun);
  EXPECT_EQ(options.ping_period, std::chrono::milliseconds(200));
  EXPECT_EQ(options.pong_wait, std::chrono::seconds(2));
  EXPECT_EQ(parse_options({"--ping-period", "1m"}, options, error), ParseOutcome::kRun);
  EXPECT_EQ(options.ping_period, std::chrono::minutes(1));
  for (const std::string text : {"30", "0s", "5h", "s", "-1s"}) {
    EXPECT_EQ(parse_options({"--pong-wait", text}, options, error), ParseOutcome::kError) << text;
  }
}

TEST(Options, ChatFlags) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({"--users", "users.txt", "--allow-origin", "https://a.example, http://b",
                           "--rate-limit", "0", "--otp-lifetime", "500ms"},
                          options, error),
            ParseOutcome::kRun)
      << error;
  EXPECT_EQ(options.users_file, "users.txt");
  EXPECT_EQ(options.allowed_origins, (std::vector<std::string>{"https://a.example", "http://b"}));
  EXPECT_EQ(options.rate_limit, 0);
  EXPECT_EQ(options.otp_lifetime, std::chrono::milliseconds(500));
  EXPECT_EQ(parse_options({"--rate-limit", "fast"}, options, error), ParseOutcome::kError);
}

TEST(Options, TlsCertificateAndKeyComeTogether) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({"--tls-cert", "c.pem", "--tls-key=k.pem"}, options, error),
            ParseOutcome::kRun)
      << error;
  EXPECT_EQ(options.tls_cert, "c.pem");
  EXPECT_EQ(options.tls_key, "k.pem");
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--tls-cert", "c.pem"}, {"--tls-key", "k.pem"}}) {
    Options alone;
    EXPECT_EQ(parse_options(args, alone, error), ParseOutcome::kError) << args[0];
    EXPECT_EQ(error, "--tls-cert and --tls-key go together: the certificate and its private key");
  }
  EXPECT_NE(usage().find("--tls-cert FILE"), std::string::npos);
}

TEST(Options, NoTlsByDefault) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({}, options, error), ParseOutcome::kRun);
  EXPECT_TRUE(options.tls_cert.empty());
  EXPECT_TRUE(options.tls_key.empty());
}

TEST(Options, RedisIsOffByDefaultAndTakesHostAndPort) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({}, options, error), ParseOutcome::kRun);
  EXPECT_TRUE(options.redis.empty()) << "one server on its own unless asked";
  EXPECT_EQ(parse_options({"--redis", "127.0.0.1:6379"}, options, error), ParseOutcome::kRun);
  EXPECT_EQ(options.redis, "127.0.0.1:6379");
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":6379", "host:0", "host:65536", "h:x"}) {
    Options refused;
    EXPECT_EQ(parse_options({"--redis", bad}, refused, error), ParseOutcome::kError) << bad;
    EXPECT_NE(error.find("expected HOST:PORT"), std::string::npos) << error;
  }
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(parse_host_port("[::1]:6380", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 6380);
}

TEST(Options, CompressionDefaultsToNoContextTakeoverAndTakesEachMode) {
  Options options;
  std::string error;
  EXPECT_EQ(parse_options({}, options, error), ParseOutcome::kRun);
  EXPECT_EQ(options.compression.mode, CompressionMode::kNoContextTakeover);
  EXPECT_EQ(options.compression.window_bits, 15);
  const std::array<std::pair<const char*, CompressionMode>, 3> modes = {
      {{"off", CompressionMode::kOff},
       {"no-context-takeover", CompressionMode::kNoContextTakeover},
       {"context-takeover", CompressionMode::kContextTakeover}}};
  for (const auto& [name, mode] : modes) {
    Options chosen;
    EXPECT_EQ(parse_options({"--compression", name}, chosen, error), ParseOutcome::kRun) << name;
    EXPECT_EQ(chosen.compression.mode, mode) << name;
  }
  Options refused;
  EXPECT_EQ(parse_options({"--compression", "gzip"}, refused, error), ParseOutcome::kError);
  EXPECT_NE(error.find("expected off, no-context-takeover or context-takeover"), std::string::npos);
}

TEST(Options, CompressionWindowBitsAre9To15) {
  std::string error;
  Options options;
  EXPECT_EQ(parse_options({"--compression-window-bits=9"}, options, error), ParseOutcome::kRun);
  EXPECT_EQ(options.compression.window_bits, 9);
  for (const char* bad : {"8", "16", "x", ""}) {
    Options refused;
    EXPECT_EQ(parse_options({"--compression-window-bits", bad}, refused, error),
              ParseOutcome::kError)
        << bad;
  }
}

}  // namespace
}  // namespace ws

// permessage-deflate, RFC 7692: negotiation (§5, §7.1) with the offers of the Autobahn testsuite's
// cases 13.1-13.7, compression (§7.2.1), inflation under a size limit (§7.2.2), and the RFC's
// worked examples (§7.2.3).
#include "permessage_deflate.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace ws {
namespace {

// "f2 48 cd c9" -> the four bytes, as the RFC writes them.
std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 3) {
    bytes += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return bytes;
}

std::vector<ExtensionOffer> parse(std::string_view header) {
  std::string error;
  auto offers = parse_extension_offers(header, error);
  EXPECT_TRUE(offers) << header << ": " << error;
  return offers.value_or(std::vector<ExtensionOffer>{});
}

std::optional<DeflateAgreement> negotiate(std::string_view header, const ServerPolicy& policy) {
  return negotiate(parse(header), policy);
}

// A chat event like those the server broadcasts.
std::string chat_event(std::string_view from, std::string_view message, std::string_view sent) {
  return R"({"type":"new_message","payload":{"from":")" + std::string(from) + R"(","message":")" +
         std::string(message) + R"(","room":"general","sent":")" + std::string(sent) + R"("}})";
}

// About `size` bytes of JSON lines that vary the way chat traffic does.
std::string json_lines(std::size_t size) {
  static constexpr std::array<std::string_view, 8> kWords = {
      "hello", "the", "meeting", "moved", "to", "three", "o'clock", "see you"};
  std::mt19937 random(7);
  std::string text;
  while (text.size() < size) {
    std::string message;
    for (int word = 0; word < 6; ++word) {
      message += std::string(kWords.at(random() % kWords.size())) + " ";
    }
    const std::string from = "user" + std::to_string(random() % 100);
    const std::string sent = "2026-12-07T11:" + std::to_string(10 + random() % 50) + ":" +
                             std::to_string(10 + random() % 50) + "." +
                             std::to_string(100 + random() % 900) + "Z";
    text += chat_event(from, message, sent) + "\n";
  }
  return text;
}

std::string random_bytes(std::size_t size) {
  std::mt19937 random(11);
  std::string bytes(size, '\0');
  for (char& byte : bytes) {
    byte = static_cast<char>(random() & 0xFFU);
  }
  return bytes;
}

// Inflates one whole message, fed as the given fragments; "" when it fails (which is reported).
std::string inflate_fragments(Inflater& inflater, const std::vector<std::string_view>& fragments) {
  for (const std::string_view fragment : fragments) {
    if (const auto error = inflater.feed(fragment)) {
      ADD_FAILURE() << "feed: " << error->code << " " << error->reason;
      return {};
    }
  }
  if (const auto error = inflater.finish()) {
    ADD_FAILURE() << "finish: " << error->code << " " << error->reason;
    return {};
  }
  return inflater.take_message();
}

std::string inflate_whole(Inflater& inflater, std::string_view payload) {
  return inflate_fragments(inflater, {payload});
}

constexpr std::size_t kKiB = 1024;
constexpr std::uint64_t kLimit = std::uint64_t{16} * 1024 * kKiB;

// ---------------------------------------------------------------------------------------------
// Parsing Sec-WebSocket-Extensions

TEST(ExtensionOffers, ParsesNamesParametersAndValues) {
  const auto offers = parse(
      R"(permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo; a="b \"c\"")");
  const std::vector<ExtensionOffer> expected = {
      {"permessage-deflate", {{"client_max_window_bits", {}}, {"server_max_window_bits", "10"}}},
      {"x-foo", {{"a", R"(b "c")"}}},
  };
  EXPECT_EQ(offers, expected);
}

TEST(ExtensionOffers, AllowsWhitespaceAroundSeparators) {
  const auto offers = parse(" permessage-deflate ;\tserver_max_window_bits = 10 ");
  const std::vector<ExtensionOffer> expected = {
      {"permessage-deflate", {{"server_max_window_bits", "10"}}}};
  EXPECT_EQ(offers, expected);
}

TEST(ExtensionOffers, SkipsEmptyListElements) {
  // RFC 7230 §7: empty elements are accepted and ignored; joined header lines make them.
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse(" , ,").empty());
  EXPECT_EQ(parse(", permessage-deflate,, x-foo ,").size(), 2U);
}

TEST(ExtensionOffers, RejectsMalformedSyntax) {
  for (const std::string_view header : {
           "permessage-deflate;",                          // a parameter must follow ';'
           "permessage-deflate; ",                         // likewise
           "; permessage-deflate",                         // no extension name
           "permessage-deflate;; client_max_window_bits",  // empty parameter
           "permessage-deflate; =10",                      // value without a name
           "permessage-deflate; server_max_window_bits=",  // name and '=' without a value
           "permessage-deflate; a=\"10",                   // unterminated quoted string
           "permessage-deflate; a=\"1\"0",                 // text after a quoted string
           "permessage-deflate; a=\"\x01\"",               // control character inside quotes
           "permessage-deflate; a=\"b\\",                  // backslash at the very end
           "permessage deflate",                           // two tokens, no separator
           "permessage-deflate; a b",                      // likewise in a parameter
           "permessage-deflate; a=b=c",                    // '=' is not a token character
           "perm@ssage-deflate",                           // '@' is not a token character
           "\"permessage-deflate\"",                       // names are tokens, never quoted
           "permessage-deflate, ;",                        // a list element of just ';'
       }) {
    std::string error;
    EXPECT_FALSE(parse_extension_offers(header, error)) << header;
    EXPECT_TRUE(error.starts_with("malformed Sec-WebSocket-Extensions")) << header << ": " << error;
  }
}

// ---------------------------------------------------------------------------------------------
// Negotiation

constexpr ServerPolicy kTakeover15{CompressionMode::kContextTakeover, 15};
constexpr ServerPolicy kTakeover12{CompressionMode::kContextTakeover, 12};
constexpr ServerPolicy kTakeover9{CompressionMode::kContextTakeover, 9};
constexpr ServerPolicy kNoTakeover15{CompressionMode::kNoContextTakeover, 15};

// The offers the Autobahn testsuite's client makes in cases 13.1-13.7 (case12_x_x.py and
// autobahn's PerMessageDeflateOffer): every offer accepts client_no_context_takeover and
// client_max_window_bits; the cases vary server_no_context_takeover and server_max_window_bits.
const std::string kAutobahnBase =
    "permessage-deflate; client_no_context_takeover; client_max_window_bits";
const std::string kDefaultOffer = kAutobahnBase;                                     // 13.1
const std::string kNoContextOffer = kAutobahnBase + "; server_no_context_takeover";  // 13.2
const std::string kWindow8Offer = kAutobahnBase + "; server_max_window_bits=8";      // 13.3
const std::string kWindow15Offer = kAutobahnBase + "; server_max_window_bits=15";    // 13.4
const std::string kNoContextWindow8Offer =                                           // 13.5
    kAutobahnBase + "; server_no_context_takeover; server_max_window_bits=8";
const std::string kNoContextWindow15Offer =  // 13.6
    kAutobahnBase + "; server_no_context_takeover; server_max_window_bits=15";
const std::string kFallbackOffers =  // 13.7: three offers, by preference
    kNoContextWindow8Offer + ", " + kNoContextOffer + ", " + kDefaultOffer;

struct NegotiationCase {
  std::string what;
  std::string header;
  ServerPolicy policy;
  std::optional<std::string> response;  // nullopt: every offer declined
  DeflateParams params;                 // when accepted
};

TEST(Negotiation, AnswersEachOfferAsTheTableSays) {
  const std::vector<NegotiationCase> cases = {
      // Autobahn 13.1: the default offer. client_no_context_takeover is echoed (§7.1.1.2);
      // client_max_window_bits is left out while it would not lower the client's 15.
      {"13.1",
       kDefaultOffer,
       kTakeover15,
       "permessage-deflate; client_no_context_takeover",
       {false, true, 15, 15}},
      {"13.1 no context takeover",
       kDefaultOffer,
       kNoTakeover15,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {true, true, 15, 15}},
      // The policy's window applies to both directions; §7.1.2.2 lets the server lower the
      // client's because the offer has client_max_window_bits.
      {"13.1 window 12",
       kDefaultOffer,
       kTakeover12,
       "permessage-deflate; client_no_context_takeover; client_max_window_bits=12",
       {false, true, 12, 12}},
      // Autobahn 13.2: the client asks for server_no_context_takeover (§7.1.1.1).
      {"13.2",
       kNoContextOffer,
       kTakeover15,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {true, true, 15, 15}},
      // Autobahn 13.3 and 13.5: a 256-byte window that zlib cannot compress with.
      {"13.3", kWindow8Offer, kTakeover15, std::nullopt, {}},
      {"13.5", kNoContextWindow8Offer, kNoTakeover15, std::nullopt, {}},
      // Autobahn 13.4 and 13.6: server_max_window_bits=15 is answered with the same or less.
      {"13.4",
       kWindow15Offer,
       kTakeover15,
       "permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
       {false, true, 15, 15}},
      {"13.4 window 12",
       kWindow15Offer,
       kTakeover12,
       "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; "
       "client_max_window_bits=12",
       {false, true, 12, 12}},
      {"13.6",
       kNoContextWindow15Offer,
       kTakeover15,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
       "server_max_window_bits=15",
       {true, true, 15, 15}},
      // Autobahn 13.7: three offers by preference; the first (window 8) is declined, so the
      // second is accepted (§5).
      {"13.7",
       kFallbackOffers,
       kTakeover15,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {true, true, 15, 15}},
      // What browsers send: with and without client_max_window_bits.
      {"client_max_window_bits",
       "permessage-deflate; client_max_window_bits",
       kTakeover15,
       "permessage-deflate",
       {false, false, 15, 15}},
      {"client_max_window_bits, no takeover",
       "permessage-deflate; client_max_window_bits",
       kNoTakeover15,
       "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
       {true, true, 15, 15}},
      {"client_max_window_bits, window 12",
       "permessage-deflate; client_max_window_bits",
       kTakeover12,
       "permessage-deflate; client_max_window_bits=12",
       {false, false, 12, 12}},
      // §7.1.2.2: without client_max_window_bits in the offer the response must not have it,
      // so the client keeps its 32 KiB window whatever the policy.
      {"bare offer, window 12",
       "permessage-deflate",
       kTakeover12,
       "permessage-deflate",
       {false, false, 12, 15}},
      // A client that limits its own window: the response lowers it only below that.
      {"client_max_window_bits=10, window 12",
       "permessage-deflate; client_max_window_bits=10",
       kTakeover12,
       "permessage-deflate",
       {false, false, 12, 10}},
      {"client_max_window_bits=10, window 9",
       "permessage-deflate; client_max_window_bits=10",
       kTakeover9,
       "permessage-deflate; client_max_window_bits=9",
       {false, false, 9, 9}},
      // The client may compress with a 256-byte window; only zlib's deflate lacks one.
      {"client_max_window_bits=8",
       "permessage-deflate; client_max_window_bits=8",
       kTakeover15,
       "permessage-deflate",
       {false, false, 15, 8}},
      {"server_max_window_bits=9",
       "permessage-deflate; server_max_window_bits=9",
       kTakeover15,
       "permessage-deflate; server_max_window_bits=9",
       {false, false, 9, 15}},
      // RFC 6455 §9.1: a value may be quoted.
      {"quoted value",
       R"(permessage-deflate; server_max_window_bits="10")",
       kTakeover15,
       "permessage-deflate; server_max_window_bits=10",
       {false, false, 10, 15}},
      // Another extension first: only permessage-deflate is ours to accept.
      {"other extension",
       "x-webkit-deflate-frame, permessage-deflate",
       kTakeover15,
       "permessage-deflate",
       {false, false, 15, 15}},
      {"mode off", kDefaultOffer, ServerPolicy{CompressionMode::kOff, 15}, std::nullopt, {}},
      {"no offer", "", kTakeover15, std::nullopt, {}},
  };
  for (const NegotiationCase& c : cases) {
    SCOPED_TRACE(c.what + ": " + c.header);
    const auto agreement = negotiate(c.header, c.policy);
    ASSERT_EQ(agreement.has_value(), c.response.has_value());
    if (agreement) {
      EXPECT_EQ(agreement->response, *c.response);
      EXPECT_EQ(agreement->params, c.params);
    }
  }
}

TEST(Negotiation, DeclinesOffersThatBreakARuleAndFallsBackToTheNext) {
  for (const std::string_view offer : {
           "permessage-deflate; x_unknown",  // §7: not defined for an offer
           "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
           "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
           "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
           "permessage-deflate; server_no_context_takeover=true",  // §7.1.1.1: no value
           "permessage-deflate; client_no_context_takeover=1",     // §7.1.1.2: no value
           "permessage-deflate; server_max_window_bits",           // §7.1.2.1: value required
           "permessage-deflate; server_max_window_bits=16",        // §7.1.2.1: 8-15
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=09",  // no leading zeroes
           "permessage-deflate; server_max_window_bits=1O",
           "permessage-deflate; server_max_window_bits=8",   // zlib cannot
           "permessage-deflate; client_max_window_bits=16",  // §7.1.2.2: 8-15
           "permessage-deflate; client_max_window_bits=0",
           "permessage-deflate; client_max_window_bits=015",
           "Permessage-Deflate",  // not the registered name
       }) {
    SCOPED_TRACE(offer);
    EXPECT_FALSE(negotiate(offer, kTakeover15));
    const auto fallback = negotiate(std::string(offer) + ", permessage-deflate", kTakeover15);
    ASSERT_TRUE(fallback);
    EXPECT_EQ(fallback->response, "permessage-deflate");
  }
}

TEST(Negotiation, RejectsAPolicyWindowOutside9To15) {
  EXPECT_THROW(negotiate(kDefaultOffer, ServerPolicy{CompressionMode::kContextTakeover, 8}),
               std::invalid_argument);
  EXPECT_THROW(negotiate(kDefaultOffer, ServerPolicy{CompressionMode::kContextTakeover, 16}),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// The worked examples of RFC 7692 §7.2.3

TEST(Deflater, CompressesHelloAsInRfc7692Section7231) {
  // §7.2.3.1: "Hello" in one compressed block, with 0x00 0x00 0xff 0xff removed.
  EXPECT_EQ(Deflater(15, true).compress("Hello"), from_hex("f2 48 cd c9 c9 07 00"));
  EXPECT_EQ(compress_once("Hello", 15), from_hex("f2 48 cd c9 c9 07 00"));
  // Without context takeover every "Hello" is these same 7 bytes.
  Deflater fresh(15, true);
  EXPECT_EQ(fresh.compress("Hello"), fresh.compress("Hello"));
  EXPECT_EQ(fresh.compress("Hello"), from_hex("f2 48 cd c9 c9 07 00"));
}

TEST(Deflater, SharesTheWindowAsInRfc7692Section7232) {
  // §7.2.3.2: with context takeover the second "Hello" is a back-reference to the first.
  Deflater deflater(15, false);
  EXPECT_EQ(deflater.compress("Hello"), from_hex("f2 48 cd c9 c9 07 00"));
  EXPECT_EQ(deflater.compress("Hello"), from_hex("f2 00 11 00 00"));
}

TEST(Inflater, InflatesEveryExampleOfRfc7692Section723) {
  for (const std::string_view hex : {
           "f2 48 cd c9 c9 07 00",                    // §7.2.3.1: one compressed block
           "00 05 00 fa ff 48 65 6c 6c 6f 00",        // §7.2.3.3: a stored block
           "f3 48 cd c9 c9 07 00 00",                 // §7.2.3.4: BFINAL set to 1
           "f2 48 05 00 00 00 ff ff ca c9 c9 07 00",  // §7.2.3.5: two blocks
       }) {
    SCOPED_TRACE(hex);
    Inflater inflater(15, false, kLimit);
    EXPECT_EQ(inflate_whole(inflater, from_hex(hex)), "Hello");
  }
}

TEST(Inflater, KeepsTheWindowWithContextTakeoverAsInRfc7692Section7232) {
  Inflater inflater(15, false, kLimit);
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 48 cd c9 c9 07 00")), "Hello");
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 00 11 00 00")), "Hello");
}

TEST(Inflater, KeepsTheWindowAcrossABlockWithBfinalSet) {
  // §7.2.3.4's message ends its DEFLATE stream; the next message may still refer back to it.
  Inflater inflater(15, false, kLimit);
  EXPECT_EQ(inflate_whole(inflater, from_hex("f3 48 cd c9 c9 07 00 00")), "Hello");
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 00 11 00 00")), "Hello");
  // Without the byte that begins an empty stored block, the stream simply ended: accepted.
  Inflater lenient(15, false, kLimit);
  EXPECT_EQ(inflate_whole(lenient, from_hex("f3 48 cd c9 c9 07 00")), "Hello");
  EXPECT_EQ(inflate_whole(lenient, from_hex("f2 00 11 00 00")), "Hello");
}

TEST(Inflater, TakesAWindowOf256Bytes) {
  // A client may agree to client_max_window_bits=8 (§7.1.2.2): zlib inflates with that window.
  Inflater inflater(8, false, kLimit);
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 48 cd c9 c9 07 00")), "Hello");
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 00 11 00 00")), "Hello");
}

// ---------------------------------------------------------------------------------------------
// Compression

TEST(Deflater, ShrinksARepeatedMessageOnlyWithContextTakeover) {
  const std::string event = chat_event("alice", "see you at three", "2026-12-07T11:18:31.079Z");
  Deflater takeover(15, false);
  const std::string first = takeover.compress(event);
  const std::string second = takeover.compress(event);
  EXPECT_LT(second.size(), first.size() / 4);

  Deflater fresh(15, true);
  EXPECT_EQ(fresh.compress(event), first);
  EXPECT_EQ(fresh.compress(event), first);
}

TEST(Deflater, CompressesAnEmptyMessageToOneByte) {
  EXPECT_EQ(Deflater(15, true).compress(""), from_hex("00"));
  Inflater inflater(15, false, kLimit);
  EXPECT_EQ(inflate_whole(inflater, from_hex("00")), "");
}

TEST(Deflater, RejectsWindowsAndMemLevelsZlibCannotUse) {
  EXPECT_THROW(Deflater(8, true), std::invalid_argument);  // raw deflate has no 256-byte window
  EXPECT_THROW(Deflater(16, true), std::invalid_argument);
  EXPECT_THROW(Deflater(15, true, 0), std::invalid_argument);
  EXPECT_THROW(Deflater(15, true, 10), std::invalid_argument);
  EXPECT_THROW(Inflater(7, true, kLimit), std::invalid_argument);
  EXPECT_THROW(Inflater(16, true, kLimit), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(RoundTrip, InflatesWhateverWayThePayloadIsSplit) {
  const std::vector<std::string> messages = {"", "Hello", json_lines(100 * kKiB),
                                             random_bytes(4 * kKiB)};
  Inflater inflater(15, true, kLimit);  // no context takeover: each split is a fresh message
  for (const std::string& message : messages) {
    const std::string payload = compress_once(message, 15);
    SCOPED_TRACE(std::to_string(message.size()) + " bytes, " + std::to_string(payload.size()) +
                 " compressed");
    for (std::size_t at = 0; at <= payload.size(); ++at) {
      const std::string_view view(payload);
      if (inflate_fragments(inflater, {view.substr(0, at), view.substr(at)}) != message) {
        ADD_FAILURE() << "split at " << at;
        break;
      }
    }
  }
}

TEST(RoundTrip, InflatesAPayloadFedOneByteAtATime) {
  for (const std::string& message : {json_lines(20 * kKiB), random_bytes(2 * kKiB)}) {
    const std::string payload = compress_once(message, 15);
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < payload.size(); ++i) {
      bytes.push_back(std::string_view(payload).substr(i, 1));
    }
    Inflater inflater(15, false, kLimit);
    EXPECT_EQ(inflate_fragments(inflater, bytes), message);
  }
}

TEST(RoundTrip, CarriesManyMessagesForEveryWindowAndTakeover) {
  const std::string text = json_lines(64 * kKiB);
  for (int bits = 9; bits <= 15; ++bits) {
    for (const bool no_takeover : {false, true}) {
      SCOPED_TRACE("window " + std::to_string(bits) + (no_takeover ? ", no takeover" : ""));
      Deflater deflater(bits, no_takeover, bits % 2 == 0 ? 1 : kDefaultMemLevel);
      Inflater inflater(bits, no_takeover, kLimit);
      for (std::size_t start = 0; start < text.size(); start += 1500) {
        const std::string message = text.substr(start, 3000);
        ASSERT_EQ(inflate_whole(inflater, deflater.compress(message)), message) << start;
      }
    }
  }
}

TEST(RoundTrip, InflatesAStreamMadeWithASmallerWindow) {
  // §7.1.2.2: the client's window is a maximum; an inflater with a larger one reads it.
  const std::string text = json_lines(16 * kKiB);
  Deflater deflater(9, false);
  Inflater inflater(15, false, kLimit);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(inflate_whole(inflater, deflater.compress(text)), text);
  }
}

// ---------------------------------------------------------------------------------------------
// The size limit

TEST(Inflater, AcceptsAMessageOfExactlyTheLimitAndRefusesOneByteMoreWith1009) {
  const std::string at_limit(1000, 'a');
  Inflater inflater(15, false, 1000);
  EXPECT_EQ(inflate_whole(inflater, compress_once(at_limit, 15)), at_limit);

  Inflater strict(15, false, 1000);
  const auto error = strict.feed(compress_once(at_limit + "a", 15));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 1009);
  EXPECT_EQ(error->reason, "message over 1000 bytes once inflated");
}

TEST(Inflater, StopsAnInflateBombAtTheLimit) {
  // 8 MiB of zeros compress to a few KiB; the limit is 1 MiB.
  constexpr std::uint64_t kSmallLimit = std::uint64_t{1} << 20;
  const std::string bomb = compress_once(std::string(std::size_t{8} << 20, '\0'), 15);
  EXPECT_LT(bomb.size(), 10 * kKiB);

  Inflater inflater(15, false, kSmallLimit);
  const auto error = inflater.feed(bomb);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 1009);
  EXPECT_GT(inflater.inflated_size(), kSmallLimit);
  EXPECT_LE(inflater.inflated_size(), kSmallLimit + Inflater::kChunkSize);
  EXPECT_TRUE(inflater.message().empty());  // the partial message is dropped at once
  // Failed for good.
  EXPECT_EQ(inflater.feed("more"), error);
  EXPECT_EQ(inflater.finish(), error);
}

TEST(Inflater, StopsABombOfAGibibyteFedInFragments) {
  // A payload that would inflate to 1 GiB: after the first MiB of zeros, every further MiB
  // compresses to the same bytes (the window holds nothing but zeros), so the bomb is built by
  // repeating them rather than by compressing a gibibyte. Inside one message each flushed piece
  // keeps its 0x00 0x00 0xff 0xff; only the message's last loses it (§7.2.1).
  Deflater deflater(15, false);
  const std::string mebibyte(std::size_t{1} << 20, '\0');
  const std::string tail = from_hex("00 00 ff ff");
  const std::string first = deflater.compress(mebibyte) + tail;
  const std::string repeat = deflater.compress(mebibyte) + tail;
  ASSERT_EQ(deflater.compress(mebibyte) + tail, repeat);
  EXPECT_LT(repeat.size(), 1100U);  // 1 MiB in about 1 KiB: the most DEFLATE can do

  Inflater inflater(15, false, kLimit);
  ASSERT_FALSE(inflater.feed(first));
  std::optional<InflateError> error;
  std::size_t fed = 1;
  for (; fed < 1024 && !error; ++fed) {
    error = inflater.feed(repeat);
  }
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 1009);
  EXPECT_EQ(fed, 17U);  // stopped in the 17th MiB, with 16 MiB allowed
  EXPECT_LE(inflater.inflated_size(), kLimit + Inflater::kChunkSize);
}

// ---------------------------------------------------------------------------------------------
// Corrupt data

TEST(Inflater, RefusesCorruptDataWith1007) {
  const std::string text = json_lines(8 * kKiB);
  const std::string payload = compress_once(text, 15);
  for (const std::string& corrupt : {
           from_hex("07"),                                     // block type 11, reserved
           from_hex("00 05 00 00 00 48 65 6c 6c 6f"),          // stored length != ~its complement
           payload.substr(0, payload.size() - 5),              // cut short inside a block
           from_hex("f2 48 cd c9 c9 07 00") + "\xff\xff\xff",  // garbage after the flush
       }) {
    SCOPED_TRACE(corrupt.size());
    Inflater inflater(15, false, kLimit);
    auto error = inflater.feed(corrupt);
    if (!error) {
      error = inflater.finish();
    }
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, 1007);
    EXPECT_TRUE(error->reason.starts_with("invalid compressed data: ")) << error->reason;
    EXPECT_EQ(inflater.finish(), error);  // failed for good
  }
}

TEST(Inflater, RefusesABackReferenceIntoAWindowItWasToldToEmpty) {
  // §7.2.3.2's second message refers to the first: with no context takeover it is corrupt.
  Inflater inflater(15, true, kLimit);
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 48 cd c9 c9 07 00")), "Hello");
  const auto error = inflater.feed(from_hex("f2 00 11 00 00"));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 1007);
  EXPECT_EQ(error->reason, "invalid compressed data: invalid distance too far back");
}

TEST(Inflater, TreatsAnEmptyPayloadAsAnEmptyMessage) {
  Inflater inflater(15, false, kLimit);
  EXPECT_EQ(inflate_whole(inflater, ""), "");
  EXPECT_EQ(inflate_whole(inflater, from_hex("f2 48 cd c9 c9 07 00")), "Hello");
}

}  // namespace
}  // namespace ws

// permessage-deflate, RFC 7692: parsing Sec-WebSocket-Extensions and negotiation (§5, §7.1), with
// the offers of the Autobahn testsuite's cases 13.1-13.7.
#include "permessage_deflate.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace ws {
namespace {

std::vector<ExtensionOffer> parse(std::string_view header) {
  std::string error;
  auto offers = parse_extension_offers(header, error);
  EXPECT_TRUE(offers) << header << ": " << error;
  return offers.value_or(std::vector<ExtensionOffer>{});
}

std::optional<DeflateAgreement> negotiate(std::string_view header, const ServerPolicy& policy) {
  return negotiate(parse(header), policy);
}

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

}  // namespace
}  // namespace ws

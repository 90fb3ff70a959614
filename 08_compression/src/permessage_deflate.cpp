// The permessage-deflate extension, RFC 7692: the Sec-WebSocket-Extensions grammar (RFC 6455
// §9.1) and the negotiation rules (§7.1).
#include "permessage_deflate.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace ws {

namespace {

// ---------------------------------------------------------------------------------------------
// Sec-WebSocket-Extensions syntax, RFC 6455 §9.1 with the tokens and quoted strings of RFC 7230:
//
//   extension-list = 1#extension            (comma-separated; empty elements are skipped)
//   extension      = token *( OWS ";" OWS param )
//   param          = token [ OWS "=" OWS ( token / quoted-string ) ]

// RFC 7230 §3.2.6: tchar, the characters of a token.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 7230 §3.2.6: qdtext, a character that may stand unescaped inside a quoted string
// (tab, space, and visible characters other than '"' and '\', including obs-text).
bool is_qdtext(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || byte == ' ' || byte == 0x21 || (byte >= 0x23 && byte <= 0x5B) ||
         (byte >= 0x5D && byte != 0x7F);
}

// RFC 7230 §3.2.6: the character after a backslash in a quoted-pair (tab, space, visible, or
// obs-text).
bool is_quotable(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
}

// A position in the header value, with the small steps the grammar is made of.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  [[nodiscard]] bool done() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }
  [[nodiscard]] std::size_t pos() const { return pos_; }
  void advance() { ++pos_; }

  // RFC 7230 §3.2.3: OWS, optional spaces and tabs.
  void skip_ows() {
    while (!done() && (peek() == ' ' || peek() == '\t')) {
      ++pos_;
    }
  }

  // The longest token starting here; empty when none does.
  std::string_view token() {
    const std::size_t start = pos_;
    while (!done() && is_tchar(peek())) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  // A quoted string starting at its opening quote, with its quoting undone; nullopt when it is
  // not terminated or holds a character that a quoted string may not.
  std::optional<std::string> quoted_string() {
    std::string value;
    ++pos_;  // the opening quote
    while (!done()) {
      const char c = peek();
      ++pos_;
      if (c == '"') {
        return value;
      }
      if (c == '\\') {
        if (done() || !is_quotable(peek())) {
          return std::nullopt;
        }
        value += peek();
        ++pos_;
      } else if (is_qdtext(c)) {
        value += c;
      } else {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string syntax_error(std::string_view what, std::size_t pos) {
  return "malformed Sec-WebSocket-Extensions: " + std::string(what) + " at offset " +
         std::to_string(pos);
}

// Reads one parameter, the cursor at its name. Returns nullopt with `error` set on bad syntax.
std::optional<ExtensionParam> parse_param(Cursor& cursor, std::string& error) {
  ExtensionParam param;
  param.name = cursor.token();
  if (param.name.empty()) {
    error = syntax_error("expected a parameter name", cursor.pos());
    return std::nullopt;
  }
  cursor.skip_ows();
  if (cursor.done() || cursor.peek() != '=') {
    return param;
  }
  cursor.advance();
  cursor.skip_ows();
  if (!cursor.done() && cursor.peek() == '"') {
    param.value = cursor.quoted_string();
    if (!param.value) {
      error = syntax_error("bad quoted string", cursor.pos());
      return std::nullopt;
    }
  } else {
    param.value = cursor.token();
    if (param.value->empty()) {
      error = syntax_error("expected a parameter value", cursor.pos());
      return std::nullopt;
    }
  }
  return param;
}

// ---------------------------------------------------------------------------------------------
// Negotiation, RFC 7692 §7.1

constexpr int kMaxWindowBits = 15;  // a 32 KiB window, DEFLATE's largest (RFC 1951 §2)

void check_window_bits(int window_bits, int lowest) {
  if (window_bits < lowest || window_bits > kMaxWindowBits) {
    throw std::invalid_argument("window_bits must be " + std::to_string(lowest) + "-15, not " +
                                std::to_string(window_bits));
  }
}

// What one permessage-deflate offer asks for, once its parameters have been checked.
struct Offer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;
  bool client_max_window_bits = false;  // present, with or without a value
  std::optional<int> client_max_window_bits_value;
};

// §7.1.2.1, §7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15,
// inclusive". Quoting has been undone already: RFC 6455 §9.1 lets any value be quoted.
std::optional<int> parse_window_bits(std::string_view value) {
  if (value.empty() || value.size() > 2 || value[0] == '0') {
    return std::nullopt;
  }
  int bits = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    bits = bits * 10 + (c - '0');
  }
  if (bits < 8 || bits > kMaxWindowBits) {
    return std::nullopt;
  }
  return bits;
}

// Checks an offer's parameters against §7, which makes a server decline an offer that has "an
// extension parameter not defined for use in an offer", "an extension parameter with an invalid
// value", or "multiple extension parameters with the same name". Returns nullopt to decline.
std::optional<Offer> read_offer(const ExtensionOffer& extension) {
  Offer offer;
  bool seen_server_no_context = false;
  bool seen_client_no_context = false;
  bool seen_server_bits = false;
  for (const ExtensionParam& param : extension.params) {
    // A repeated parameter is declined whatever its values, even if they agree (§7).
    const auto first_time = [](bool& seen) { return !std::exchange(seen, true); };
    if (param.name == "server_no_context_takeover") {
      // §7.1.1.1: this parameter has no value.
      if (!first_time(seen_server_no_context) || param.value) {
        return std::nullopt;
      }
      offer.server_no_context_takeover = true;
    } else if (param.name == "client_no_context_takeover") {
      // §7.1.1.2: this parameter has no value either.
      if (!first_time(seen_client_no_context) || param.value) {
        return std::nullopt;
      }
      offer.client_no_context_takeover = true;
    } else if (param.name == "server_max_window_bits") {
      // §7.1.2.1: in an offer it always has a value.
      if (!first_time(seen_server_bits) || !param.value) {
        return std::nullopt;
      }
      offer.server_max_window_bits = parse_window_bits(*param.value);
      if (!offer.server_max_window_bits) {
        return std::nullopt;
      }
    } else if (param.name == "client_max_window_bits") {
      // §7.1.2.2: with no value the client only says it understands the parameter in a
      // response; with a value it also promises never to use a larger window.
      if (!first_time(offer.client_max_window_bits)) {
        return std::nullopt;
      }
      if (param.value) {
        offer.client_max_window_bits_value = parse_window_bits(*param.value);
        if (!offer.client_max_window_bits_value) {
          return std::nullopt;
        }
      }
    } else {
      return std::nullopt;  // not one of the four parameters §7.1 defines
    }
  }
  return offer;
}

// Accepts a well-formed offer if the policy can, and writes the response that says so.
std::optional<DeflateAgreement> accept_offer(const Offer& offer, const ServerPolicy& policy) {
  // §7.1.2.1: the server must then compress with a window of at most 2^8 = 256 bytes, and zlib
  // cannot: its raw deflate refuses windowBits 8 outright (zlib.h: only the zlib header could
  // tell a decompressor about that window), and with a header it quietly uses 9, a 512-byte
  // window. Promising 256 bytes and relying on how far back zlib happens to look would be
  // guessing, so the offer is declined (§7: "the server doesn't support the offered
  // configuration") and the client may fall back to its next offer.
  if (offer.server_max_window_bits == 8) {
    return std::nullopt;
  }

  DeflateAgreement agreement;
  DeflateParams& params = agreement.params;
  const bool keep_nothing = policy.mode == CompressionMode::kNoContextTakeover;

  // §7.1.1.1: an offer with server_no_context_takeover is accepted only by echoing it; the server
  // may also add it to any response, which is what kNoContextTakeover does.
  params.server_no_context_takeover = offer.server_no_context_takeover || keep_nothing;
  // §7.1.1.2: the server may add client_no_context_takeover to any response, offered or not;
  // kNoContextTakeover always does, so that no inflate state outlives a message either. When
  // the client offers it, it announces that it will not take context over anyway, and echoing
  // it makes the response say what both ends will do.
  params.client_no_context_takeover = offer.client_no_context_takeover || keep_nothing;

  // §7.1.2.1: the response to a server_max_window_bits offer carries the same or a smaller value.
  params.server_max_window_bits =
      std::min(policy.window_bits, offer.server_max_window_bits.value_or(kMaxWindowBits));

  // §7.1.2.2: without client_max_window_bits in the offer the response "MUST NOT include" it, and
  // the client may use the full 32 KiB window. With it, the response may set the client's window
  // to no more than the offered value.
  const int client_ceiling = offer.client_max_window_bits_value.value_or(kMaxWindowBits);
  params.client_max_window_bits =
      offer.client_max_window_bits ? std::min(policy.window_bits, client_ceiling) : kMaxWindowBits;

  std::string& response = agreement.response;
  response = kPerMessageDeflate;
  if (params.server_no_context_takeover) {
    response += "; server_no_context_takeover";
  }
  if (params.client_no_context_takeover) {
    response += "; client_no_context_takeover";
  }
  // Only in answer to an offer that has it: a client that did not limit our window has an
  // inflater that handles any window up to 32 KiB.
  if (offer.server_max_window_bits) {
    response += "; server_max_window_bits=" + std::to_string(params.server_max_window_bits);
  }
  // Only when it lowers the client's window: otherwise the client's own limit stands.
  if (offer.client_max_window_bits && params.client_max_window_bits < client_ceiling) {
    response += "; client_max_window_bits=" + std::to_string(params.client_max_window_bits);
  }
  return agreement;
}

}  // namespace

std::optional<std::vector<ExtensionOffer>> parse_extension_offers(std::string_view header_values,
                                                                  std::string& error) {
  std::vector<ExtensionOffer> offers;
  Cursor cursor(header_values);
  while (true) {
    cursor.skip_ows();
    if (cursor.done()) {
      return offers;
    }
    if (cursor.peek() == ',') {
      cursor.advance();  // RFC 7230 §7: a recipient MUST accept empty list elements
      continue;
    }
    ExtensionOffer offer;
    offer.name = cursor.token();
    if (offer.name.empty()) {
      error = syntax_error("expected an extension name", cursor.pos());
      return std::nullopt;
    }
    cursor.skip_ows();
    while (!cursor.done() && cursor.peek() == ';') {
      cursor.advance();
      cursor.skip_ows();
      auto param = parse_param(cursor, error);
      if (!param) {
        return std::nullopt;
      }
      offer.params.push_back(std::move(*param));
      cursor.skip_ows();
    }
    if (!cursor.done() && cursor.peek() != ',') {
      error = syntax_error("unexpected character", cursor.pos());
      return std::nullopt;
    }
    offers.push_back(std::move(offer));
  }
}

std::optional<DeflateAgreement> negotiate(const std::vector<ExtensionOffer>& offers,
                                          const ServerPolicy& policy) {
  check_window_bits(policy.window_bits, 9);
  if (policy.mode == CompressionMode::kOff) {
    return std::nullopt;
  }
  for (const ExtensionOffer& extension : offers) {
    // Extension names are compared exactly, as registered: RFC 6455 §9.1 gives no case rule.
    if (extension.name != kPerMessageDeflate) {
      continue;
    }
    if (const auto offer = read_offer(extension)) {
      if (auto agreement = accept_offer(*offer, policy)) {
        return agreement;
      }
    }
  }
  return std::nullopt;
}

}  // namespace ws

// Cases for permessage-deflate (RFC 7692): the offer and the server's answer in the opening
// handshake (§5, §7.1), compressed messages both ways (§6, §7.2), and the limits a compressed
// message still obeys once inflated. They talk to an echo WebSocket without login (the target's
// echo_path: --echo-path, /echo for stage 08), so that every round trip compares byte for byte.
// The tester compresses and inflates with zlib's raw deflate (RFC 1951, no zlib header or
// checksum), never with the server's code.
#define ZLIB_CONST  // zlib's next_in points to const bytes
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = kKiB * kKiB;
// §7.2.1: a compressed message ends with an empty stored block whose last 4 bytes the sender
// removes; §7.2.2: the receiver appends them back before inflating.
const std::string kTail = from_hex("00 00 ff ff");
// The most the tester inflates one server message to: what it sends is at most the server's
// limit plus 1 MiB (the bomb), so anything past this is a bomb aimed at the tester.
constexpr std::size_t kMaxInflated = std::size_t{40} * kMiB;
// zlib's buffer for one deflate or inflate call.
constexpr std::size_t kChunk = std::size_t{64} * kKiB;

// ---------------------------------------------------------------------------------------------
// The tester's own deflate and inflate (zlib, raw deflate)
// ---------------------------------------------------------------------------------------------

std::string zlib_error(const z_stream& stream, int code) {
  return "zlib error " + std::to_string(code) +
         (stream.msg != nullptr ? std::string(" (") + stream.msg + ")" : std::string());
}

// Compresses the client's messages (§7.2.1): one deflate stream for the connection, flushed
// with Z_SYNC_FLUSH at the end of each message. With context takeover the next message may refer
// to earlier ones, as browsers do; without it the stream starts afresh for each message.
// Not movable: zlib's state points back to its z_stream.
class Deflater {
 public:
  Deflater(int window_bits, bool context_takeover) : context_takeover_(context_takeover) {
    // zlib cannot write raw deflate with an 8-bit window (it needs 9); level 0 writes stored
    // blocks, which refer to nothing earlier, so they suit any window the server chose.
    const int level = window_bits < 9 ? 0 : Z_DEFAULT_COMPRESSION;
    const int code =
        deflateInit2(&stream_, level, Z_DEFLATED, -std::max(window_bits, 9), 8, Z_DEFAULT_STRATEGY);
    if (code != Z_OK) {
      throw std::runtime_error("tester: deflateInit2 failed: " + zlib_error(stream_, code));
    }
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  Deflater(Deflater&&) = delete;
  Deflater& operator=(Deflater&&) = delete;
  ~Deflater() { deflateEnd(&stream_); }

  // The payload of one compressed message: its deflate data without the final 00 00 ff ff.
  std::string compress(std::string_view message) {
    std::string out;
    if (message.empty()) {
      // §7.2.3.6: an empty message is one empty stored block, the single byte 00 once its tail
      // is removed (zlib would refuse a second flush with no new input).
      out.push_back('\0');
    } else {
      stream_.next_in = reinterpret_cast<const Bytef*>(message.data());
      stream_.avail_in = static_cast<uInt>(message.size());
      std::array<Bytef, kChunk> chunk{};
      // Each round fills a chunk or ends the flush; the bound is deflate's worst case.
      const std::size_t rounds = deflateBound(&stream_, message.size()) / kChunk + 2;
      for (std::size_t round = 0; round < rounds; ++round) {
        stream_.next_out = chunk.data();
        stream_.avail_out = static_cast<uInt>(chunk.size());
        const int code = deflate(&stream_, Z_SYNC_FLUSH);
        if (code != Z_OK && code != Z_BUF_ERROR) {
          throw std::runtime_error("tester: deflate failed: " + zlib_error(stream_, code));
        }
        out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size() - stream_.avail_out);
        if (stream_.avail_out != 0) {
          break;
        }
      }
      if (stream_.avail_in != 0 || !out.ends_with(kTail)) {
        throw std::runtime_error("tester: zlib's sync flush did not end with 00 00 ff ff");
      }
      out.resize(out.size() - kTail.size());
    }
    if (!context_takeover_) {
      deflateReset(&stream_);
    }
    return out;
  }

 private:
  z_stream stream_{};
  bool context_takeover_;
};

// Inflates the server's messages (§7.2.2): one stream for the connection, which keeps its
// window from message to message, as the server's context takeover needs (and which does no
// harm when the server starts each message afresh). `window_bits` is the window the server
// agreed to, so a server that uses a larger one fails to inflate ("too far back").
class Inflater {
 public:
  explicit Inflater(int window_bits) {
    const int code = inflateInit2(&stream_, -window_bits);
    if (code != Z_OK) {
      throw std::runtime_error("tester: inflateInit2 failed: " + zlib_error(stream_, code));
    }
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  Inflater(Inflater&&) = delete;
  Inflater& operator=(Inflater&&) = delete;
  ~Inflater() { inflateEnd(&stream_); }

  // The message inflated from `payload` plus the tail, or nullopt with `error` set when the data
  // is not valid deflate or inflates to more than `limit` bytes.
  std::optional<std::string> inflate_message(std::string_view payload, std::size_t limit,
                                             std::string* error) {
    const std::string input = std::string(payload) + kTail;
    stream_.next_in = reinterpret_cast<const Bytef*>(input.data());
    stream_.avail_in = static_cast<uInt>(input.size());
    std::string out;
    std::array<Bytef, kChunk> chunk{};
    // Each round fills a chunk, or ends the message; the limit bounds the rounds.
    for (std::size_t round = 0; round <= limit / kChunk + 1; ++round) {
      stream_.next_out = chunk.data();
      stream_.avail_out = static_cast<uInt>(chunk.size());
      const int code = inflate(&stream_, Z_SYNC_FLUSH);
      out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size() - stream_.avail_out);
      if (out.size() > limit) {
        *error = "inflates to more than " + std::to_string(limit) + " bytes";
        return std::nullopt;
      }
      if (code == Z_STREAM_END) {
        // A block with BFINAL set ended the deflate stream (allowed, §7.2.3.1-2): start a new
        // one for the next message, keeping the window, and ignore the appended tail.
        return restart_keeping_window(std::move(out), error);
      }
      if (code != Z_OK && code != Z_BUF_ERROR) {
        *error = zlib_error(stream_, code);
        return std::nullopt;
      }
      if (stream_.avail_out != 0) {
        if (stream_.avail_in != 0) {
          *error = "zlib stopped with " + std::to_string(stream_.avail_in) + " bytes unread";
          return std::nullopt;
        }
        return out;
      }
    }
    *error = "inflates to more than " + std::to_string(limit) + " bytes";
    return std::nullopt;
  }

 private:
  std::optional<std::string> restart_keeping_window(std::string out, std::string* error) {
    std::array<Bytef, std::size_t{1} << 15U> window{};
    uInt size = 0;
    if (inflateGetDictionary(&stream_, window.data(), &size) != Z_OK ||
        inflateReset(&stream_) != Z_OK ||
        inflateSetDictionary(&stream_, window.data(), size) != Z_OK) {
      *error = "tester: could not restart zlib after a final block";
      return std::nullopt;
    }
    return out;
  }

  z_stream stream_{};
};

// ---------------------------------------------------------------------------------------------
// The negotiation (RFC 7692 §5, §7.1; RFC 6455 §9.1)
// ---------------------------------------------------------------------------------------------

// One offer of permessage-deflate as the tester writes it.
struct Offer {
  bool client_max_window_bits = false;        // offered without a value: "I can take any"
  std::optional<int> server_max_window_bits;  // asks the server for at most this window
};

std::string offer_text(const Offer& offer) {
  std::string text = "permessage-deflate";
  if (offer.client_max_window_bits) {
    text += "; client_max_window_bits";
  }
  if (offer.server_max_window_bits) {
    text += "; server_max_window_bits=" + std::to_string(*offer.server_max_window_bits);
  }
  return text;
}

// What browsers offer.
const std::vector<Offer> kBrowserOffer = {
    Offer{.client_max_window_bits = true, .server_max_window_bits = {}}};

// What both sides agreed to (§7.1): the defaults are 15-bit windows and context takeover.
struct Agreement {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

struct Param {
  std::string name;
  std::optional<std::string> value;
};
struct Extension {
  std::string name;
  std::vector<Param> params;
};

bool is_tchar(char c) {
  // RFC 7230 §3.2.6: the characters of a token.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Reads a Sec-WebSocket-Extensions value (RFC 6455 §9.1) a piece at a time.
struct Cursor {
  std::string_view text;
  std::size_t at = 0;

  [[nodiscard]] bool at_end() const { return at == text.size(); }
  bool take(char c) {
    if (at < text.size() && text[at] == c) {
      ++at;
      return true;
    }
    return false;
  }
  void skip_spaces() {
    while (take(' ') || take('\t')) {
    }
  }
  std::string token() {
    const std::size_t start = at;
    while (at < text.size() && is_tchar(text[at])) {
      ++at;
    }
    return std::string(text.substr(start, at - start));
  }
  // A token or a quoted string (its backslash escapes undone); nullopt if the quote never ends.
  std::optional<std::string> value() {
    if (!take('"')) {
      return token();
    }
    std::string out;
    for (; at < text.size() && text[at] != '"'; ++at) {
      out += text[at] == '\\' && at + 1 < text.size() ? text[++at] : text[at];
    }
    return take('"') ? std::optional<std::string>(out) : std::nullopt;
  }
};

// Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1): extensions separated by commas, each
// a token followed by "; name" or "; name=value" parameters, a value a token or a quoted string.
std::optional<std::vector<Extension>> parse_extensions(std::string_view text, std::string* error) {
  Cursor cursor{text, 0};
  std::vector<Extension> extensions;
  // Each extension takes at least one character, so the text's length bounds the loop.
  while (extensions.size() <= text.size()) {
    cursor.skip_spaces();
    Extension extension{cursor.token(), {}};
    cursor.skip_spaces();
    while (!extension.name.empty() && cursor.take(';')) {
      cursor.skip_spaces();
      Param param{cursor.token(), std::nullopt};
      cursor.skip_spaces();
      if (cursor.take('=')) {
        cursor.skip_spaces();
        param.value = cursor.value();
        cursor.skip_spaces();
        if (!param.value) {
          *error = "unterminated quoted string";
          return std::nullopt;
        }
      }
      if (param.name.empty()) {
        *error = "expected a parameter name at byte " + std::to_string(cursor.at);
        return std::nullopt;
      }
      extension.params.push_back(std::move(param));
    }
    if (extension.name.empty()) {
      *error = "expected an extension name at byte " + std::to_string(cursor.at);
      return std::nullopt;
    }
    extensions.push_back(std::move(extension));
    if (cursor.at_end()) {
      return extensions;
    }
    if (!cursor.take(',')) {
      *error = "unexpected '" + std::string(1, text[cursor.at]) + "' at byte " +
               std::to_string(cursor.at);
      return std::nullopt;
    }
  }
  *error = "the list does not end";
  return std::nullopt;
}

// §7.1.2.1-2: a window size is a decimal 8 to 15, without leading zeros.
std::optional<int> window_bits(const std::optional<std::string>& value) {
  int bits = 0;
  if (!value || value->empty() || value->front() == '0') {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), bits);
  if (ec != std::errc{} || end != value->data() + value->size() || bits < 8 || bits > 15) {
    return std::nullopt;
  }
  return bits;
}

// Every Sec-WebSocket-Extensions field of `response`, joined as one list (RFC 7230 §3.2.2).
std::optional<std::string> extensions_header(const HttpResponse& response) {
  std::optional<std::string> joined;
  for (const auto& [name, value] : response.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "sec-websocket-extensions") {
      joined = joined ? *joined + ", " + value : value;
    }
  }
  return joined;
}

// Judges the server's answer to `offers` (§5, §7.1): nullopt when it declined (no extension),
// the agreement when it accepted one offer validly; throws std::runtime_error (the case fails
// with it) when the answer is not a valid acceptance of any of them.
std::optional<Agreement> agreement_in(const HttpResponse& response,
                                      const std::vector<Offer>& offers) {
  const auto header = extensions_header(response);
  if (!header) {
    return std::nullopt;
  }
  const auto invalid = [&header](const std::string& why) {
    return std::runtime_error("invalid answer Sec-WebSocket-Extensions: " + *header + " (" + why +
                              ")");
  };
  std::string error;
  const auto extensions = parse_extensions(*header, &error);
  if (!extensions) {
    throw invalid("does not parse: " + error);
  }
  if (extensions->size() != 1 || extensions->front().name != "permessage-deflate") {
    throw invalid("expected one permessage-deflate, the only extension offered; RFC 6455 §9.1");
  }
  Agreement agreed;
  bool server_bits_answered = false;
  bool client_bits_answered = false;
  std::vector<std::string> seen;
  for (const Param& param : extensions->front().params) {
    if (std::find(seen.begin(), seen.end(), param.name) != seen.end()) {
      throw invalid("parameter " + param.name + " twice; §7");
    }
    seen.push_back(param.name);
    if (param.name == "server_no_context_takeover" || param.name == "client_no_context_takeover") {
      if (param.value) {
        throw invalid(param.name + " takes no value; §7.1.1");
      }
      (param.name == "server_no_context_takeover" ? agreed.server_no_context_takeover
                                                  : agreed.client_no_context_takeover) = true;
    } else if (param.name == "server_max_window_bits" || param.name == "client_max_window_bits") {
      const auto bits = window_bits(param.value);
      if (!bits) {
        throw invalid(param.name + " needs a value from 8 to 15 in an answer; §7.1.2");
      }
      const bool server = param.name == "server_max_window_bits";
      (server ? agreed.server_max_window_bits : agreed.client_max_window_bits) = *bits;
      (server ? server_bits_answered : client_bits_answered) = true;
    } else {
      throw invalid("unknown parameter " + param.name + "; §7");
    }
  }
  // The answer accepts one of the offers: server_max_window_bits if that offer asked for it, at
  // most the value asked (§7.1.2.1); client_max_window_bits only if that offer had it (§7.1.2.2).
  const bool fits_an_offer = std::any_of(offers.begin(), offers.end(), [&](const Offer& offer) {
    const bool server_bits_ok =
        !offer.server_max_window_bits ||
        (server_bits_answered && agreed.server_max_window_bits <= *offer.server_max_window_bits);
    return server_bits_ok && (!client_bits_answered || offer.client_max_window_bits);
  });
  if (!fits_an_offer) {
    throw invalid(
        "it accepts no offer: an offer with server_max_window_bits=N is accepted by answering "
        "server_max_window_bits with at most N (§7.1.2.1), and client_max_window_bits may only "
        "answer an offer that had it (§7.1.2.2)");
  }
  return agreed;
}

// An upgrade request for the echo WebSocket offering `offers` (none: no header).
UpgradeRequest echo_request(const std::vector<Offer>& offers) {
  UpgradeRequest request;
  request.target = target().echo_path;
  if (!target().origin.empty()) {
    request.extra_headers.emplace_back("Origin", target().origin);
  }
  std::string list;
  for (const Offer& offer : offers) {
    list += (list.empty() ? "" : ", ") + offer_text(offer);
  }
  if (!list.empty()) {
    request.extra_headers.emplace_back("Sec-WebSocket-Extensions", list);
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// A compressing connection
// ---------------------------------------------------------------------------------------------

// A connection to the echo WebSocket with the codecs its agreement calls for. Construction
// offers `offers` and throws std::runtime_error (failing the case) on an invalid answer, or on a
// declined offer when `must_accept`.
class Compressing {
 public:
  explicit Compressing(const std::vector<Offer>& offers = kBrowserOffer, bool must_accept = true)
      : session_(echo_request(offers),
                 SessionOptions{
                     .answer_pings = true, .record_messages = true, .compressed_messages = true},
                 &response_),
        agreed_(agreement_or_throw(response_, offers, must_accept)),
        deflater_(agreed_.value_or(Agreement{}).client_max_window_bits,
                  !agreed_.value_or(Agreement{}).client_no_context_takeover),
        inflater_(agreed_.value_or(Agreement{}).server_max_window_bits) {
    note("< Sec-WebSocket-Extensions: " + extensions_header(response_).value_or("(none)"));
  }

  Session& session() { return session_; }
  [[nodiscard]] const std::optional<Agreement>& agreed() const { return agreed_; }

  // The frames of one compressed message: `message` deflated, split into fragments of at most
  // `fragment_size` bytes, RSV1 on the first only (§6.1).
  std::vector<FrameSpec> compressed(std::uint8_t first_opcode, std::string_view message,
                                    std::size_t fragment_size = 0) {
    const std::string data = deflater_.compress(message);
    std::vector<FrameSpec> frames =
        fragment_message(first_opcode, data, fragment_size == 0 ? data.size() + 1 : fragment_size);
    frames.front().rsv = rsv::kRsv1;
    return frames;
  }

  // What the session saw, with the server's compressed messages inflated in order (one inflater
  // for the connection, as context takeover needs), ready to compare with what was sent.
  Observation inflated() {
    Observation seen = session_.observation();
    if (!agreed_ && !seen.compressed.empty() && seen.server_violation.empty()) {
      seen.server_violation =
          "server sent a compressed message (RSV1) after declining permessage-deflate";
    }
    for (const std::size_t index : seen.compressed) {
      std::string error;
      auto plain = inflater_.inflate_message(seen.events[index].payload, kMaxInflated, &error);
      if (!plain) {
        if (seen.server_violation.empty()) {
          seen.server_violation =
              "the server's compressed message #" + std::to_string(index + 1) + " (" +
              std::to_string(seen.events[index].payload.size()) +
              " B) does not inflate with the agreed " +
              std::to_string(agreed_.value_or(Agreement{}).server_max_window_bits) +
              "-bit window: " + error;
        }
        break;
      }
      seen.events[index].payload = std::move(*plain);
    }
    return seen;
  }

  // Sends `frames`, waits for `expected` (inflated), closes with 1000 and grades.
  Verdict echo(const std::vector<FrameSpec>& frames, const std::vector<Event>& expected,
               Clock::duration budget = kReplyDeadline) {
    session_.send(frames);
    session_.await_events(expected.size(), deadline_in(budget));
    if (!session_.closed()) {
      session_.close_with(close_frame(close_code::kNormal), deadline_in(budget));
    }
    return judge_clean_echo(inflated(), expected);
  }

  // Sends `frames`, a violation, and grades how the server fails.
  Verdict failure(const std::vector<FrameSpec>& frames, const FailureExpectation& expect,
                  Clock::duration budget = kReplyDeadline) {
    session_.send(frames);
    session_.await_close(deadline_in(budget));
    return judge_failure(inflated(), expect);
  }

 private:
  static std::optional<Agreement> agreement_or_throw(const HttpResponse& response,
                                                     const std::vector<Offer>& offers,
                                                     bool must_accept) {
    auto agreed = agreement_in(response, offers);
    if (!agreed && must_accept) {
      throw std::runtime_error(
          "the 101 has no Sec-WebSocket-Extensions: the server declined permessage-deflate "
          "(offered: " +
          echo_request(offers).extra_headers.back().second + ")");
    }
    return agreed;
  }

  HttpResponse response_;  // filled by session_'s handshake, so declared before it
  Session session_;
  std::optional<Agreement> agreed_;
  Deflater deflater_;
  Inflater inflater_;
};

// A message size well under the server's limit (the echo of stage 08 keeps the chat's 4096
// bytes): 1/8 below it, so that neither its inflated size nor its deflated one (noise grows by a
// few bytes a block) comes near the limit, which only the 1009 case tests.
std::size_t within_limit(std::size_t wanted) {
  return std::min(wanted, target().max_message - target().max_message / 8);
}

// ---------------------------------------------------------------------------------------------
// Negotiation cases
// ---------------------------------------------------------------------------------------------

// §5, §7.1: the plain offer is accepted with a valid answer, and a compressed message then
// makes the round trip.
TESTER_CASE(compression, Compression_AcceptsAPlainOfferWithAValidAnswer, "RFC 7692 §5, §7.1") {
  Compressing connection({Offer{}});
  const std::string message = "Hello, compressed world! Hello, compressed world!";
  report(connection.echo(connection.compressed(opcode::kText, message), {text_event(message)}));
}

// §7.1.2: offered client_max_window_bits (any) and server_max_window_bits=10, the server answers
// server_max_window_bits of at most 10 and keeps to it: a message repeating 2 KiB of noise comes
// back inflatable with a 10-bit (1 KiB) window, which a server using a larger one would break.
TESTER_CASE(compression, Compression_KeepsToTheServerWindowBitsOffered, "RFC 7692 §7.1.2") {
  const Offer offer{.client_max_window_bits = true, .server_max_window_bits = 10};
  Compressing connection({offer}, /*must_accept=*/false);
  if (!connection.agreed()) {
    report({Behavior::kNonStrict,
            "declined '" + offer_text(offer) +
                "'; a server that can use a 10-bit window should accept it (§7.1.2.1)"});
    return;
  }
  const std::string noise = binary_payload(within_limit(4 * kKiB) / 2);
  const std::string message = noise + noise;
  report(connection.echo(connection.compressed(opcode::kBinary, message), {binary_event(message)}));
}

// §5: offers are in the client's order of preference; the server accepts the first it
// can honour or declines them all. A server that cannot use an 8-bit window accepts the second
// offer; one that can may accept the first; either way the answer is valid and messages flow.
TESTER_CASE(compression, Compression_AnswersAListOfOffersWithOneItCanHonour, "RFC 7692 §5") {
  Compressing connection(
      {Offer{.client_max_window_bits = false, .server_max_window_bits = 8}, Offer{}},
      /*must_accept=*/false);
  const std::string message = "the second offer, or the first, or none";
  const std::vector<FrameSpec> frames = connection.agreed()
                                            ? connection.compressed(opcode::kText, message)
                                            : std::vector<FrameSpec>{text_frame(message)};
  report(connection.echo(frames, {text_event(message)}));
}

struct InvalidOffer {
  const char* name;
  const char* offer;
};
// §7: "A server MUST decline an extension negotiation offer" with an unknown parameter, an
// invalid value or a parameter twice; declining is answering 101 without the extension.
const bool kInvalidOffers = add_family(
    "compression", "RFC 7692 §7",
    std::vector<InvalidOffer>{
        InvalidOffer{"Compression_DeclinesAnOfferWithAnUnknownParameter",
                     "permessage-deflate; foo=1"},
        InvalidOffer{"Compression_DeclinesAnOfferWithServerMaxWindowBits16",
                     "permessage-deflate; server_max_window_bits=16"},
        InvalidOffer{"Compression_DeclinesAnOfferWithAParameterTwice",
                     "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}},
    [](const InvalidOffer& c) { return std::string(c.name); },
    [](const InvalidOffer& c) {
      UpgradeRequest request = echo_request({});
      request.extra_headers.emplace_back("Sec-WebSocket-Extensions", c.offer);
      HttpResponse response;
      std::optional<Session> opened;
      try {
        opened.emplace(request, SessionOptions{}, &response);
      } catch (const std::runtime_error& error) {
        // Refusing the whole upgrade turns away a client that would have done without
        // compression: the RFC asks to decline the offer, not the connection.
        report({response.status >= 400 && response.status < 500 ? Behavior::kNonStrict
                                                                : Behavior::kFailed,
                std::string(error.what()) + " to '" + c.offer +
                    "'; §7 says to decline the offer and upgrade without compression"});
        return;
      }
      Session& session = *opened;
      if (const auto header = extensions_header(response)) {
        report({Behavior::kFailed, "accepted '" + std::string(c.offer) +
                                       "' with Sec-WebSocket-Extensions: " + *header +
                                       "; §5 says to decline it (101 without the extension)"});
        return;
      }
      session.send(text_frame("declined"));
      session.await_events(1, deadline_in(kReplyDeadline));
      session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
      report(judge_clean_echo(session.observation(), {text_event("declined")}));
    });

// RFC 6455 §9.1: without an offer, no extension in the answer, and plain messages as before.
TESTER_CASE(compression, Compression_AnswersNoOfferWithoutExtensions, "RFC 6455 §9.1") {
  Session session(echo_request({}), {});  // its handshake refuses any extension in the 101
  session.send(text_frame("plain"));
  session.await_events(1, deadline_in(kReplyDeadline));
  session.close_with(close_frame(close_code::kNormal), deadline_in(kReplyDeadline));
  report(judge_clean_echo(session.observation(), {text_event("plain")}));
}

// RFC 6455 §5.2, RFC 7692 §6: without permessage-deflate negotiated, RSV1 means nothing agreed,
// so the connection fails with 1002.
TESTER_CASE(compression, Compression_FailsWith1002OnRsv1WithoutNegotiation, "RFC 7692 §6") {
  Session session(echo_request({}), {});
  FrameSpec frame = text_frame(from_hex("f2 48 cd c9 c9 07 00"));  // "Hello", deflated
  frame.rsv = rsv::kRsv1;
  session.send(frame);
  session.await_close(deadline_in(kReplyDeadline));
  report(judge_failure(session.observation(), {close_code::kProtocolError}));
}

// ---------------------------------------------------------------------------------------------
// Compressed messages (§6, §7.2)
// ---------------------------------------------------------------------------------------------

// §7.2.1-7.2.2: a compressed text message, echoed; the server may answer compressed or not.
TESTER_CASE(compression, Compression_EchoesACompressedTextMessage, "RFC 7692 §7.2") {
  Compressing connection;
  const std::string message = within_limit(kKiB) >= kKiB ? utf8_payload(kKiB) : kHelloUtf8;
  report(connection.echo(connection.compressed(opcode::kText, message), {text_event(message)}));
}

// §7.1.1: several messages in a row. When the answer did not say client_no_context_takeover,
// the tester refers back to earlier messages, as browsers do, so the server's inflater must keep
// its window from message to message; when it did, every message starts afresh.
TESTER_CASE(compression, Compression_EchoesTenCompressedMessagesInARow, "RFC 7692 §7.1.1") {
  Compressing connection;
  std::vector<FrameSpec> frames;
  std::vector<Event> expected;
  for (std::size_t i = 0; i < 10; ++i) {
    const std::string message =
        "message " + std::to_string(i) + ": " + kHelloUtf8 + " " + ascii_payload(40 + i);
    const auto compressed = connection.compressed(opcode::kText, message);
    frames.insert(frames.end(), compressed.begin(), compressed.end());
    expected.push_back(text_event(message));
  }
  report(connection.echo(frames, expected));
}

// §6.1, §7.2.1: a compressed message in 7-byte fragments, whose last four are 1 byte each and
// end with an empty final frame, so fragments split the deflate data's last bytes: the server
// appends the tail to the whole message, not to a frame.
TESTER_CASE(compression, Compression_EchoesACompressedMessageInManyFragments, "RFC 7692 §6.1") {
  Compressing connection;
  const std::string message = ascii_payload(within_limit(2 * kKiB));
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, message, 7);
  // Cut the last fragment into single bytes, then close the message with an empty one.
  std::string last = frames.back().payload;
  frames.pop_back();
  if (frames.empty()) {  // the deflate data fit in one fragment: start the message empty
    frames.push_back(text_frame("", false));
    frames.back().rsv = rsv::kRsv1;
  }
  frames.back().fin = false;
  for (const char byte : last) {
    frames.push_back(continuation_frame(std::string(1, byte), false));
  }
  frames.push_back(continuation_frame(""));
  report(connection.echo(frames, {text_event(message)}));
}

// §6: a message with RSV1 clear is not compressed, even on a compressing connection.
TESTER_CASE(compression, Compression_EchoesAnUncompressedMessageOnACompressingConnection,
            "RFC 7692 §6") {
  Compressing connection;
  const std::string compressed_message = "compressed, then plain";
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, compressed_message);
  frames.push_back(binary_frame(binary_payload(100)));
  report(
      connection.echo(frames, {text_event(compressed_message), binary_event(binary_payload(100))}));
}

// §7.2: a large binary message of noise (it hardly compresses: deflate falls back to stored
// blocks), echoed byte for byte; 1 MiB, or well under the server's limit if that is lower.
TESTER_CASE(compression, Compression_EchoesANoisyBinaryMessageOf1MiB, "RFC 7692 §7.2") {
  Compressing connection;
  const std::string message = binary_payload(within_limit(kMiB));
  report(connection.echo(connection.compressed(opcode::kBinary, message), {binary_event(message)},
                         kLargeMessageDeadline));
}

// §7.2.3.6: an empty message compresses to the single byte 00 (an empty stored block without
// its tail), and comes back empty.
TESTER_CASE(compression, Compression_EchoesAnEmptyCompressedMessage, "RFC 7692 §7.2.3.6") {
  Compressing connection;
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, "");
  frames.push_back(text_frame("after the empty one"));
  report(connection.echo(frames, {text_event(""), text_event("after the empty one")}));
}

// §6.1, RFC 6455 §5.4-5.5: a ping between the fragments of a compressed message is answered
// at once with a pong, which is a control frame and so never compressed (RSV1 clear); the
// message then completes. The session fails any server frame with RSV1 anywhere but on the
// first frame of a data message.
TESTER_CASE(compression, Compression_AnswersAPingBetweenCompressedFragmentsWithAPlainPong,
            "RFC 7692 §6.1") {
  Compressing connection;
  const std::string message = ascii_payload(within_limit(kKiB));
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, message, 16);
  frames.insert(frames.begin() + 1, ping_frame("between"));
  report(connection.echo(frames, {pong_event("between"), text_event(message)}));
}

// ---------------------------------------------------------------------------------------------
// Violations and limits
// ---------------------------------------------------------------------------------------------

// §6.1: "An endpoint MUST NOT set the Per-Message Compressed bit of control frames and non-first
// fragments of a data message"; receiving one fails the connection (1002).
TESTER_CASE(compression, Compression_FailsWith1002OnRsv1OnAContinuationFrame, "RFC 7692 §6.1") {
  Compressing connection;
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, ascii_payload(200), 8);
  frames[1].rsv = rsv::kRsv1;
  report(connection.failure(frames, {close_code::kProtocolError}));
}

// §6.1: the same for the continuation of an uncompressed message.
TESTER_CASE(compression, Compression_FailsWith1002OnRsv1OnAContinuationOfAPlainMessage,
            "RFC 7692 §6.1") {
  Compressing connection;
  std::vector<FrameSpec> frames = fragment_message(opcode::kText, "plain, then RSV1", 6);
  frames[1].rsv = rsv::kRsv1;
  report(connection.failure(frames, {close_code::kProtocolError}));
}

// §6.1: a control frame is never compressed: RSV1 on a ping fails the connection (1002).
TESTER_CASE(compression, Compression_FailsWith1002OnRsv1OnAPing, "RFC 7692 §6.1") {
  Compressing connection;
  FrameSpec ping = ping_frame("compressed?");
  ping.rsv = rsv::kRsv1;
  report(connection.failure({ping}, {close_code::kProtocolError}));
}

// RFC 6455 §5.2: permessage-deflate uses RSV1 only; RSV2 and RSV3 still fail (1002).
TESTER_CASE(compression, Compression_FailsWith1002OnRsv2OnACompressingConnection, "RFC 7692 §6") {
  Compressing connection;
  std::vector<FrameSpec> frames = connection.compressed(opcode::kText, "RSV1 and RSV2");
  frames.front().rsv = rsv::kRsv1 | rsv::kRsv2;
  report(connection.failure(frames, {close_code::kProtocolError}));
}

// RFC 6455 §7.4.1, §10.4: the size limit applies to the inflated message and is checked while
// inflating: a few KiB that inflate to the limit plus 1 MiB of zeros fail with
// 1009, and the server, which inflated no more than its limit, keeps serving.
TESTER_CASE(compression, Compression_FailsWith1009OnAMessageInflatingPastTheLimit,
            "RFC 6455 §10.4") {
  {
    Compressing connection;
    const std::string zeros(target().max_message + kMiB, '\0');
    std::vector<FrameSpec> frames = connection.compressed(opcode::kBinary, zeros);
    note("  (" + std::to_string(zeros.size()) + " B of zeros deflated to " +
         std::to_string(frames.front().payload.size()) + " B)");
    report(connection.failure(frames, {close_code::kMessageTooBig}, kLargeMessageDeadline));
  }
  Compressing next;
  const std::string message = "still serving";
  const Verdict verdict = next.echo(next.compressed(opcode::kText, message), {text_event(message)});
  if (verdict.behavior != Behavior::kOk) {
    report({Behavior::kFailed, "after the oversized message, a new connection: " + verdict.detail});
  }
}

// RFC 6455 §7.4.1: data that does not inflate is "inconsistent with the type of the message":
// 1007. RFC 7692 names no code, and RFC 6455 §7.4.1's 1002 (protocol error) fits a frame that
// breaks the negotiated extension's format just as well, so both pass.
TESTER_CASE(compression, Compression_FailsWith1007OnCorruptDeflateData, "RFC 7692 §7.2.2") {
  Compressing connection;
  FrameSpec frame = binary_frame(from_hex("ff ff ff ff"));  // block type 3 is reserved (RFC 1951)
  frame.rsv = rsv::kRsv1;
  connection.session().send(frame);
  connection.session().await_close(deadline_in(kReplyDeadline));
  const Observation seen = connection.inflated();
  const bool protocol_error = seen.close && seen.close->code == close_code::kProtocolError;
  report(judge_failure(
      seen, {protocol_error ? close_code::kProtocolError : close_code::kInvalidPayload}));
}

}  // namespace
}  // namespace tester

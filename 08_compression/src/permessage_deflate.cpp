// The permessage-deflate extension, RFC 7692: the Sec-WebSocket-Extensions grammar (RFC 6455
// §9.1), the negotiation rules (§7.1), and compression and decompression of payloads with zlib's
// raw DEFLATE (§7.2).
#define ZLIB_CONST  // zlib's next_in becomes a pointer to const: the input is never written
#include "permessage_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <map>
#include <new>
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

// ---------------------------------------------------------------------------------------------
// Payloads, RFC 7692 §7.2

// The empty stored block that ends a Z_SYNC_FLUSH: removed by the sender (§7.2.1), appended by
// the receiver (§7.2.2).
constexpr std::string_view kDeflateTail("\x00\x00\xff\xff", 4);

// zlib counts in uInt (32 bits): longer inputs are handed over in slices.
constexpr std::size_t kMaxSlice = std::numeric_limits<uInt>::max();

const Bytef* bytes_of(std::string_view text) { return reinterpret_cast<const Bytef*>(text.data()); }

// What zlib's init functions report: only a lack of memory can happen once the arguments have
// been checked.
void check_init(int status) {
  if (status == Z_MEM_ERROR) {
    throw std::bad_alloc();
  }
  if (status != Z_OK) {
    throw std::logic_error("zlib refused to initialise a stream: status " + std::to_string(status));
  }
}

// Makes room for `needed` bytes in `buffer`, at least doubling its capacity so that a message
// growing chunk by chunk is copied O(1) times per byte, but never reserving beyond `ceiling`, the
// most the message may reach. std::string::reserve may round a request up past `ceiling`
// (libstdc++ at least doubles), while a new, empty string reserves exactly what it is asked.
void grow_capacity(std::string& buffer, std::size_t needed, std::size_t ceiling) {
  if (needed <= buffer.capacity()) {
    return;
  }
  std::string bigger;
  bigger.reserve(std::max(needed, std::min(2 * buffer.capacity(), ceiling)));
  bigger.append(buffer);
  buffer = std::move(bigger);
}

InflateError too_big(std::uint64_t max_message) {
  // RFC 6455 §7.4.1: 1009, "a message that is too big for it to process"; the limit applies to
  // what the application would receive, the inflated message.
  return {1009, "message over " + std::to_string(max_message) + " bytes once inflated"};
}

InflateError invalid_data(const char* zlib_message) {
  // RFC 6455 §7.4.1: 1007, "data within a message that was not consistent with the type of the
  // message". The frames were sound (a framing fault, such as RSV1 on a continuation frame, is a
  // protocol error, 1002, and the frame reader's to find); it is the payload that is wrong: RSV1
  // declared it DEFLATE data (RFC 7692 §6) and it is not, the same kind of fault as a text
  // message that is not UTF-8. RFC 7692 names no code for it.
  return {1007, std::string("invalid compressed data: ") +
                    (zlib_message != nullptr ? zlib_message : "unexpected zlib status")};
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

// ---------------------------------------------------------------------------------------------
// Deflater

void Deflater::StreamDeleter::operator()(z_stream_s* stream) const {
  deflateEnd(stream);
  delete stream;
}

Deflater::Deflater(int window_bits, bool no_context_takeover, int mem_level)
    : no_context_takeover_(no_context_takeover) {
  check_window_bits(window_bits, 9);
  if (mem_level < 1 || mem_level > 9) {
    throw std::invalid_argument("mem_level must be 1-9, not " + std::to_string(mem_level));
  }
  auto stream = std::make_unique<z_stream>();  // zero: zlib's default allocator
  // A negative windowBits asks for raw DEFLATE, without zlib's header and trailer: the payload
  // is DEFLATE data (§7.2.1), nothing around it.
  check_init(deflateInit2(stream.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, mem_level,
                          Z_DEFAULT_STRATEGY));
  stream_.reset(stream.release());
}

Deflater::~Deflater() = default;
Deflater::Deflater(Deflater&&) noexcept = default;
Deflater& Deflater::operator=(Deflater&&) noexcept = default;

std::string Deflater::compress(std::string_view message) {
  z_stream& stream = *stream_;
  std::string out;
  // Room for the worst case; the sync flush may need a few bytes more, found by the loop.
  out.resize(deflateBound(&stream, static_cast<uLong>(message.size())) + 16);
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  while (true) {
    if (stream.avail_in == 0 && in_pos < message.size()) {
      const std::size_t slice = std::min(message.size() - in_pos, kMaxSlice);
      stream.next_in = bytes_of(message.substr(in_pos));
      stream.avail_in = static_cast<uInt>(slice);
      in_pos += slice;
    }
    if (out_pos == out.size()) {
      out.resize(2 * out.size());
    }
    const std::size_t room = std::min(out.size() - out_pos, kMaxSlice);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    stream.avail_out = static_cast<uInt>(room);
    // §7.2.1: compress, then flush to a byte boundary with an empty stored block (Z_SYNC_FLUSH),
    // so the message ends on a whole byte and the receiver can inflate all of it at once.
    const bool last_slice = in_pos == message.size();
    const int status = deflate(&stream, last_slice ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    if (status != Z_OK && status != Z_BUF_ERROR) {
      throw std::logic_error("deflate failed: status " + std::to_string(status));
    }
    out_pos += room - stream.avail_out;
    // zlib: the flush is complete once deflate() returns with output space to spare.
    if (last_slice && stream.avail_in == 0 && stream.avail_out != 0) {
      break;
    }
  }
  out.resize(out_pos);
  // §7.2.1: remove the 0x00 0x00 0xff 0xff at the tail end; a sync flush always ends with them.
  if (!out.ends_with(kDeflateTail)) {
    throw std::logic_error("deflate's sync flush did not end with 00 00 ff ff");
  }
  out.resize(out.size() - kDeflateTail.size());
  // §7.1.1.1: with no context takeover the next message starts from an empty window.
  if (no_context_takeover_) {
    deflateReset(&stream);
  }
  return out;
}

std::string compress_once(std::string_view message, int window_bits, int mem_level) {
  // One compressor per thread and setting, started afresh after every message: the bytes of a
  // new one, without setting up (and allocating) a new one per message.
  thread_local std::map<std::pair<int, int>, Deflater> compressors;
  const std::pair<int, int> setting{window_bits, mem_level};
  auto found = compressors.find(setting);
  if (found == compressors.end()) {
    found = compressors.emplace(setting, Deflater(window_bits, true, mem_level)).first;
  }
  try {
    return found->second.compress(message);
  } catch (...) {
    compressors.erase(found);  // its stream stopped halfway: never use it again
    throw;
  }
}

// ---------------------------------------------------------------------------------------------
// Inflater

void Inflater::StreamDeleter::operator()(z_stream_s* stream) const {
  inflateEnd(stream);
  delete stream;
}

Inflater::Inflater(int window_bits, bool no_context_takeover, std::uint64_t max_message)
    : no_context_takeover_(no_context_takeover), max_message_(max_message) {
  // zlib's inflate, unlike its deflate, takes a 256-byte window (8) for raw DEFLATE.
  check_window_bits(window_bits, 8);
  auto stream = std::make_unique<z_stream>();
  check_init(inflateInit2(stream.get(), -window_bits));
  stream_.reset(stream.release());
}

Inflater::~Inflater() = default;
Inflater::Inflater(Inflater&&) noexcept = default;
Inflater& Inflater::operator=(Inflater&&) noexcept = default;

const std::string& Inflater::message() const { return message_; }

std::uint64_t Inflater::inflated_size() const { return inflated_; }

std::string Inflater::take_message() {
  inflated_ = 0;
  message_done_ = false;
  return std::exchange(message_, std::string());
}

void Inflater::begin_message() {
  if (message_done_) {
    message_ = std::string();
    inflated_ = 0;
    message_done_ = false;
  }
}

std::optional<InflateError> Inflater::feed(std::string_view fragment) {
  if (error_) {
    return error_;
  }
  begin_message();
  return inflate_input(fragment);
}

std::optional<InflateError> Inflater::finish() {
  if (error_) {
    return error_;
  }
  begin_message();
  // §7.2.2: append 0x00 0x00 0xff 0xff and inflate. They complete the empty stored block the
  // sender's flush began, and leave inflate waiting for the next block's header. The tail is not
  // needed when nothing has gone into the stream since it last stood there: a message with an
  // empty payload, or one whose last block had BFINAL set (§7.2.3.4).
  if (needs_tail_) {
    if (auto error = inflate_input(kDeflateTail)) {
      return error;
    }
    // zlib's data_type has 128 set when inflate stopped between blocks. Anywhere else, the
    // payload stopped inside a block: it was cut short, or never was a sync-flushed message.
    if (needs_tail_ && (stream_->data_type & 128) == 0) {
      return fail(invalid_data("message ends inside a DEFLATE block"));
    }
    needs_tail_ = false;
  }
  // §7.1.1.2: with no context takeover, the client's next message starts from an empty window.
  if (no_context_takeover_) {
    inflateReset(stream_.get());
  }
  message_done_ = true;
  return std::nullopt;
}

std::optional<InflateError> Inflater::inflate_input(std::string_view input) {
  z_stream& stream = *stream_;
  // The most the message may hold, plus the one byte that proves it too big.
  const std::size_t ceiling = max_message_ < std::numeric_limits<std::size_t>::max() - 1
                                  ? static_cast<std::size_t>(max_message_) + 1
                                  : std::numeric_limits<std::size_t>::max();
  std::size_t in_pos = 0;
  bool output_full = false;  // zlib may hold back output it had no room for
  while (true) {
    if (stream.avail_in == 0 && in_pos < input.size()) {
      const std::size_t slice = std::min(input.size() - in_pos, kMaxSlice);
      stream.next_in = bytes_of(input.substr(in_pos));
      stream.avail_in = static_cast<uInt>(slice);
      in_pos += slice;
      needs_tail_ = true;
    }
    if (stream.avail_in == 0 && !output_full) {
      return std::nullopt;
    }
    // The limit is enforced by the room zlib is given: never more than one byte past
    // max_message_ in all, so a bomb costs max_message_ + 1 bytes before it is stopped.
    // inflated_ <= max_message_ holds here, or the previous round would have failed.
    const std::uint64_t left = max_message_ - inflated_;
    const std::size_t room = left < kChunkSize ? static_cast<std::size_t>(left) + 1 : kChunkSize;
    const std::size_t old_size = message_.size();
    grow_capacity(message_, old_size + room, ceiling);
    message_.resize(old_size + room);
    stream.next_out = reinterpret_cast<Bytef*>(message_.data() + old_size);
    stream.avail_out = static_cast<uInt>(room);
    const int status = inflate(&stream, Z_SYNC_FLUSH);
    const std::size_t written = room - stream.avail_out;
    message_.resize(old_size + written);
    inflated_ += written;
    output_full = stream.avail_out == 0;
    if (inflated_ > max_message_) {
      return fail(too_big(max_message_));
    }
    switch (status) {
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // No progress was possible: with room to write, that means all input is inflated.
        if (stream.avail_in != 0) {
          throw std::logic_error("inflate made no progress with input and room left");
        }
        output_full = false;
        break;
      case Z_STREAM_END:
        // A block with BFINAL set ended the DEFLATE stream. Bytes may follow, in this message
        // or the next: §7.2.3.4's example ends with a byte that begins an empty stored block,
        // for the 0x00 0x00 0xff 0xff of §7.2.2 to complete. They start a new stream.
        restart_stream();
        output_full = false;
        break;
      case Z_MEM_ERROR:
        throw std::bad_alloc();
      case Z_DATA_ERROR:
      case Z_NEED_DICT:  // raw DEFLATE has no dictionary identifier, so this would be garbage
        return fail(invalid_data(stream.msg));
      default:
        throw std::logic_error("inflate failed: status " + std::to_string(status));
    }
  }
}

void Inflater::restart_stream() {
  // The new stream keeps the LZ77 window: later blocks of this message may refer to bytes before
  // the end of the old stream, and so may the next message under context takeover.
  z_stream& stream = *stream_;
  std::string window(std::size_t{1} << kMaxWindowBits, '\0');  // zlib: always enough
  uInt window_size = 0;
  inflateGetDictionary(&stream, reinterpret_cast<Bytef*>(window.data()), &window_size);
  inflateReset(&stream);
  if (window_size > 0) {
    inflateSetDictionary(&stream, reinterpret_cast<const Bytef*>(window.data()), window_size);
  }
  needs_tail_ = stream.avail_in > 0;
}

std::optional<InflateError> Inflater::fail(InflateError error) {
  // The connection is about to be failed: the partial message is of no use to anyone.
  message_ = std::string();
  error_ = std::move(error);
  return error_;
}

}  // namespace ws

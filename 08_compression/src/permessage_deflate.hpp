// The permessage-deflate extension, RFC 7692: negotiating it in the opening handshake (§5, §7.1)
// and transforming message payloads (§7.2): compressing what we send (§7.2.1) and inflating what
// we receive (§7.2.2) under a size limit. Frames and RSV1 (§6) are the message layer's business;
// everything here works on whole payloads or their fragments, and does no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// zlib's stream type, kept out of this header so that its users need not include zlib.h.
struct z_stream_s;

namespace ws {

// ---------------------------------------------------------------------------------------------
// Negotiation

/// The extension's registered name (RFC 7692 §7).
inline constexpr std::string_view kPerMessageDeflate = "permessage-deflate";

/// One parameter of an extension offer: `name`, `name=value` or `name="quoted value"`.
/// `value` holds the value with quoting undone; nullopt when the parameter had none.
struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;

  friend bool operator==(const ExtensionParam&, const ExtensionParam&) = default;
};

/// One element of Sec-WebSocket-Extensions: an extension name and its parameters, in order.
struct ExtensionOffer {
  std::string name;
  std::vector<ExtensionParam> params;

  friend bool operator==(const ExtensionOffer&, const ExtensionOffer&) = default;
};

/// Parses the value of Sec-WebSocket-Extensions (RFC 6455 §9.1), every header line of it joined
/// with ", ". Returns the offers in the client's order of preference (RFC 7692 §5), or nullopt with
/// `error` set to a one-line reason for a 400 response when the syntax is broken. Empty list
/// elements are skipped (RFC 7230 §7), so an empty value gives no offers. Only syntax is judged
/// here: an unknown extension, or a known one with a strange parameter, is negotiate()'s affair.
std::optional<std::vector<ExtensionOffer>> parse_extension_offers(std::string_view header_values,
                                                                  std::string& error);

/// How much compression state the server is willing to keep per connection.
enum class CompressionMode {
  kOff,                // decline every offer: messages travel uncompressed
  kNoContextTakeover,  // compress each message on its own, in both directions: nothing is kept
                       // between messages, and a broadcast can be compressed once for everyone
  kContextTakeover,    // keep the LZ77 window across messages when the client allows: smaller
                       // messages, at the price of a compressor held by every connection
};

/// The server's side of the negotiation.
/// `window_bits` (9-15) is the largest LZ77 window, as a power of two, that the server will
/// compress with, and that it asks the client to compress with when the client lets it choose
/// (§7.1.2.2). 15 (32 KiB) compresses best; each step down halves the window's memory.
struct ServerPolicy {
  CompressionMode mode = CompressionMode::kOff;
  int window_bits = 15;
};

/// The parameters both ends agreed on (RFC 7692 §7.1), with every default filled in.
struct DeflateParams {
  bool server_no_context_takeover = false;  ///< §7.1.1.1: our Deflater resets after each message
  bool client_no_context_takeover = false;  ///< §7.1.1.2: our Inflater resets after each message
  int server_max_window_bits = 15;          ///< §7.1.2.1: the window our Deflater compresses with
  int client_max_window_bits = 15;          ///< §7.1.2.2: the client's largest; our Inflater's

  friend bool operator==(const DeflateParams&, const DeflateParams&) = default;
};

/// An accepted offer: the agreed parameters, and the value of the Sec-WebSocket-Extensions header
/// to send in the 101 response ("permessage-deflate; server_no_context_takeover").
struct DeflateAgreement {
  DeflateParams params;
  std::string response;

  friend bool operator==(const DeflateAgreement&, const DeflateAgreement&) = default;
};

/// Accepts the first permessage-deflate offer that `policy` can honour (RFC 7692 §5: the client
/// lists its offers by preference). Returns nullopt to decline them all, in which case the
/// response carries no Sec-WebSocket-Extensions header and messages travel uncompressed.
/// An offer is declined, and the next one tried, when it has an unknown parameter, a parameter
/// twice, or a value that is invalid or that zlib cannot honour (§7: a server MUST decline such
/// offers). Throws std::invalid_argument when `policy.window_bits` is outside 9-15.
std::optional<DeflateAgreement> negotiate(const std::vector<ExtensionOffer>& offers,
                                          const ServerPolicy& policy);

// ---------------------------------------------------------------------------------------------
// Compression

/// The memLevel zlib uses by default: 8 gives a 64 Ki-entry hash table (128 KiB) and 16 KiB of
/// pending literals (64 KiB of buffer); 1 cuts both to 1/128th, at some cost in speed and size.
inline constexpr int kDefaultMemLevel = 8;

/// Compresses messages for one direction of one connection (RFC 7692 §7.2.1).
/// With context takeover the LZ77 window carries over from one message to the next, so a message
/// like an earlier one costs little; the Deflater must then see every message that direction
/// sends, in order. With no context takeover it starts afresh for every message.
/// Memory: 2^(window_bits+2) + 2^(mem_level+9) bytes plus about 6 KiB of state, all allocated by
/// the constructor: 262 KiB at 15 bits and memLevel 8, 9 KiB at 9 bits and memLevel 1.
class Deflater {
 public:
  /// `window_bits` 9-15 and `mem_level` 1-9, else std::invalid_argument. zlib cannot compress
  /// raw DEFLATE with a 256-byte window (8); negotiate() never agrees to it. std::bad_alloc when
  /// zlib cannot get its memory.
  Deflater(int window_bits, bool no_context_takeover, int mem_level = kDefaultMemLevel);
  ~Deflater();
  Deflater(Deflater&& other) noexcept;
  Deflater& operator=(Deflater&& other) noexcept;
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  /// The payload of one compressed message, whose first frame must carry RSV1 (§6.1). The
  /// payload may be split into frames anywhere: the inflating side does not care where.
  /// An empty message compresses to one byte, 0x00.
  std::string compress(std::string_view message);

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
  bool no_context_takeover_;
};

/// Compresses one message on its own: the same bytes Deflater(window_bits, true,
/// mem_level).compress(message) gives. For a broadcast: one compression serves every receiver
/// that agreed to server_no_context_takeover with a server_max_window_bits of at least
/// `window_bits`, since no receiver's window then holds anything the payload could refer to.
/// Each thread keeps one compressor per setting for these calls (262 KiB at 15 bits and
/// memLevel 8), reset after every message.
std::string compress_once(std::string_view message, int window_bits,
                          int mem_level = kDefaultMemLevel);

// ---------------------------------------------------------------------------------------------
// Decompression

/// Why a compressed message was refused: `code` is the close code to fail the connection with
/// (RFC 6455 §7.4.1), `reason` a short text for the close frame and the log.
/// 1009 (message too big): the message inflates past the limit.
/// 1007 (invalid payload data): the payload is not valid DEFLATE data, or refers to bytes the
/// agreed window does not hold.
struct InflateError {
  std::uint16_t code = 0;
  std::string reason;

  friend bool operator==(const InflateError&, const InflateError&) = default;
};

/// Inflates received messages for one connection (RFC 7692 §7.2.2), fragment by fragment, never
/// holding more than `max_message` + 1 inflated bytes: a message is refused once it passes the
/// limit, before zlib inflates any further. Memory besides the message: about 7 KiB of state, and
/// a 2^window_bits window from the first message on.
///
///     inflater.feed(first_fragment);   // the payload of the frame with RSV1 set
///     inflater.feed(next_fragment);    // each continuation frame's payload, as it comes
///     inflater.finish();               // at the frame with FIN set
///     std::string text = inflater.take_message();
///
/// feed() appends what it inflates to message(), so a text message's UTF-8 can be checked piece
/// by piece, as the uncompressed reader does. The first feed() or finish() after a finish() starts
/// a new message. Once feed() or finish() has reported an error the Inflater is failed for good:
/// every later call reports it again, and message() is empty.
class Inflater {
 public:
  /// The most zlib may write per call; the limit is checked between calls.
  static constexpr std::size_t kChunkSize = std::size_t{16} * 1024;

  /// `window_bits` 8-15 (else std::invalid_argument): the client's agreed window or any larger
  /// one, since a stream made with a smaller window inflates fine in a larger one.
  /// `max_message` bounds each message's inflated size. std::bad_alloc when zlib gets no memory.
  Inflater(int window_bits, bool no_context_takeover, std::uint64_t max_message);
  ~Inflater();
  Inflater(Inflater&& other) noexcept;
  Inflater& operator=(Inflater&& other) noexcept;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  /// Inflates one fragment of the current message's payload. Returns nullopt when all of it was
  /// taken, or the error that stopped it (1009 as soon as the message passes `max_message`, before
  /// inflating further; 1007 for data that is not DEFLATE).
  std::optional<InflateError> feed(std::string_view fragment);

  /// Ends the current message: appends the 0x00 0x00 0xff 0xff that the sender removed (§7.2.2)
  /// and inflates what it releases. Returns nullopt when the message is complete, else the error
  /// (1007 also for a payload that stops in the middle of a DEFLATE block). Afterwards the next
  /// message may start; with no context takeover the window is emptied first.
  std::optional<InflateError> finish();

  /// The current message, as much of it as has been inflated.
  [[nodiscard]] const std::string& message() const;

  /// Hands over the message and leaves message() empty (and its memory freed).
  std::string take_message();

  /// Bytes zlib has written for the current message, including any past the limit: never more
  /// than `max_message` + 1, which is how the limit holds against an inflate bomb.
  [[nodiscard]] std::uint64_t inflated_size() const;

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };

  void begin_message();
  std::optional<InflateError> inflate_input(std::string_view input);
  void restart_stream();
  std::optional<InflateError> fail(InflateError error);

  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
  bool no_context_takeover_;
  std::uint64_t max_message_;
  std::string message_;
  std::uint64_t inflated_ = 0;
  bool needs_tail_ = false;    // input went in since inflate last stood between blocks
  bool message_done_ = false;  // finish() succeeded: the next feed() starts a new message
  std::optional<InflateError> error_;
};

}  // namespace ws

// The permessage-deflate extension, RFC 7692: negotiating it in the opening handshake (§5, §7.1).
// Everything here works on header values and does no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

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

}  // namespace ws

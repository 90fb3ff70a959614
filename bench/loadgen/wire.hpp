// What the load generator writes and reads on the wire: the client's opening handshake
// (RFC 6455 §4.1), masked client frames (§5.2-5.3), server frame headers, and the little HTTP/1.1
// it needs for a chat server's login. Written for speed of use, not generality: the stages hold
// the complete codec.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ws::bench {

/// §5.2 opcodes the load generator sends or acts on.
inline constexpr std::uint8_t kOpContinuation = 0x0;
inline constexpr std::uint8_t kOpText = 0x1;
inline constexpr std::uint8_t kOpBinary = 0x2;
inline constexpr std::uint8_t kOpClose = 0x8;
inline constexpr std::uint8_t kOpPing = 0x9;
inline constexpr std::uint8_t kOpPong = 0xA;

/// §5.5: control frames carry at most 125 bytes; a 2-byte header is then always enough.
inline constexpr std::size_t kMaxControlPayload = 125;

/// A masking key (§5.3): four bytes XORed in turn over the payload.
using MaskingKey = std::array<std::uint8_t, 4>;

/// One whole client frame: FIN set, `opcode`, the payload masked with `key` (§5.1: a client
/// masks every frame it sends).
std::string masked_frame(std::uint8_t opcode, std::string_view payload, MaskingKey key);

/// A header of a frame sent by a server, as far as the load generator cares.
struct ServerFrameHeader {
  bool fin = true;
  std::uint8_t opcode = 0;
  bool masked = false;
  bool rsv1 = false;   ///< "compressed" once permessage-deflate is agreed (RFC 7692 §6)
  bool rsv23 = false;  ///< RSV2 or RSV3: no extension the load generator offers uses them
  std::uint64_t payload_length = 0;
};

/// The size of a whole frame header (2-14 bytes), known from its second byte alone (§5.2).
std::size_t header_size(std::uint8_t second_byte);

/// Decodes the frame header at the start of `bytes`: returns its size (2-14 bytes), or 0 when
/// `bytes` does not hold the whole header yet.
std::size_t decode_header(std::string_view bytes, ServerFrameHeader& header);

/// A random Sec-WebSocket-Key: base64 of 16 random bytes (§4.1).
std::string random_key();

/// Sec-WebSocket-Accept the server must answer to `key` (§4.2.2): base64(SHA-1(key + GUID)).
std::string accept_for(std::string_view key);

/// The offer of permessage-deflate a browser makes (RFC 7692 §5; Chromium sends exactly this).
inline constexpr std::string_view kDeflateOffer = "permessage-deflate; client_max_window_bits";

/// The GET request of the opening handshake for `path` on `host_port`, with an Origin header
/// when `origin` is not empty (a chat server checks it, §10.2), and kDeflateOffer when
/// `offer_deflate`.
std::string upgrade_request(std::string_view host_port, std::string_view path, std::string_view key,
                            std::string_view origin, bool offer_deflate);

/// A POST of a JSON `body` to `path`, asking the server to close the connection afterwards.
std::string post_request(std::string_view host_port, std::string_view path, std::string_view body);

/// How much of `bytes` the HTTP response head takes, up to and including the blank line; 0 while
/// it is incomplete.
std::size_t response_head_size(std::string_view bytes);

/// The status code of the response whose head is `head` (0 if it is not HTTP/1.1).
int response_status(std::string_view head);

/// The value of header `name` (compared without regard to case) in `head`, or "" if absent.
std::string_view header_value(std::string_view head, std::string_view name);

/// The string value of `"field":"..."` in a flat JSON object, or "" if absent. Enough for
/// reading an OTP from a login response; escapes are not decoded.
std::string_view json_string_field(std::string_view json, std::string_view field);

}  // namespace ws::bench

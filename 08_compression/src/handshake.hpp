// The server side of the opening handshake, RFC 6455 §4.2: deciding whether a request is a valid
// WebSocket upgrade, computing Sec-WebSocket-Accept, choosing a subprotocol and an extension
// (permessage-deflate, RFC 7692 §5), and writing the 101 response or the error response that
// explains the refusal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http.hpp"
#include "permessage_deflate.hpp"

namespace ws {

/// RFC 6455 §1.3: the GUID every server appends to the client's key before hashing.
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
/// For the RFC's example key "dGhlIHNhbXBsZSBub25jZQ==" it returns "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
std::string compute_accept_key(std::string_view key);

/// True if `key` is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes (§4.1), i.e. 22
/// base64 characters followed by "==".
bool is_valid_key(std::string_view key);

/// True if the request asks for a WebSocket at all (it carries Upgrade, Sec-WebSocket-Key or
/// Sec-WebSocket-Version). Such a request is judged by evaluate_upgrade; any other request is
/// ordinary HTTP (the test page).
bool looks_like_upgrade(const HttpRequest& request);

/// The server's answer to an upgrade request.
struct UpgradeDecision {
  int status = 0;           ///< 101 to accept; 400 or 426 to refuse
  std::string reason;       ///< one line saying why a refusal happened (empty on 101)
  std::string subprotocol;  ///< the subprotocol chosen, empty if none
  std::optional<DeflateAgreement> compression;  ///< permessage-deflate, if an offer was accepted
  std::string response;                         ///< the complete HTTP response to write
};

/// Validates an upgrade request against RFC 6455 §4.2.1 and builds the response.
/// `supported_protocols` are the subprotocols this server speaks, in no particular order; the
/// first one the client offers that is supported is chosen (§4.2.2: never one it did not offer).
/// Sec-WebSocket-Extensions is read unless `compression` is off: the first permessage-deflate
/// offer the policy can honour is accepted and answered (RFC 7692 §5); a header that does not
/// parse is refused with 400, since §9.1 of RFC 6455 gives it a grammar.
UpgradeDecision evaluate_upgrade(const HttpRequest& request,
                                 const std::vector<std::string>& supported_protocols,
                                 const ServerPolicy& compression = {});

}  // namespace ws

// The server side of the opening handshake, RFC 6455 §4.2.
#include "handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

namespace ws {

namespace {

UpgradeDecision refuse(int status, std::string reason,
                       const std::vector<std::string>& headers = {}) {
  UpgradeDecision decision;
  decision.status = status;
  decision.response = http_response(status, "text/plain; charset=utf-8", reason + "\n", headers);
  decision.reason = std::move(reason);
  return decision;
}

std::string choose_subprotocol(const HttpRequest& request,
                               const std::vector<std::string>& supported) {
  for (const auto& offered : request.header_tokens("Sec-WebSocket-Protocol")) {
    // Subprotocol names are compared exactly (§4.1: they are tokens, and case matters to them).
    if (std::find(supported.begin(), supported.end(), offered) != supported.end()) {
      return offered;
    }
  }
  return {};
}

}  // namespace

std::string compute_accept_key(std::string_view key) {
  // RFC 6455 §4.2.2 step 5.4: SHA-1 of the key concatenated with the GUID, then base64.
  const std::string input = std::string(key) + std::string(kWebSocketGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  ::SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  // base64 of 20 bytes is 28 characters; EVP_EncodeBlock also writes a terminating NUL.
  std::array<unsigned char, 29> encoded{};
  const int size = ::EVP_EncodeBlock(encoded.data(), digest.data(), digest.size());
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(size)};
}

bool is_valid_key(std::string_view key) {
  // 16 bytes encode to 24 base64 characters, the last two being padding.
  if (key.size() != 24 || key.substr(22) != "==") {
    return false;
  }
  const auto is_base64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  return std::all_of(key.begin(), key.begin() + 22, is_base64);
}

bool looks_like_upgrade(const HttpRequest& request) {
  return request.header("Upgrade") || request.header("Sec-WebSocket-Key") ||
         request.header("Sec-WebSocket-Version");
}

UpgradeDecision evaluate_upgrade(const HttpRequest& request,
                                 const std::vector<std::string>& supported_protocols,
                                 const ServerPolicy& compression) {
  // RFC 6455 §4.2.1 lists what a valid opening handshake must contain; §4.2.2 says a server that
  // finds anything missing answers with an HTTP error (400 Bad Request) and does not upgrade.
  if (request.method != "GET") {
    return refuse(400, "WebSocket upgrade requires GET");
  }
  if (request.version != "HTTP/1.1") {
    return refuse(400, "WebSocket upgrade requires HTTP/1.1");
  }
  if (request.header_count("Host") != 1) {
    return refuse(400, "exactly one Host header is required");
  }
  if (!request.has_token("Upgrade", "websocket")) {
    return refuse(400, "missing Upgrade: websocket");
  }
  if (!request.has_token("Connection", "Upgrade")) {
    return refuse(400, "missing Connection: Upgrade");
  }
  const auto version = request.header("Sec-WebSocket-Version");
  if (!version) {
    return refuse(400, "missing Sec-WebSocket-Version");
  }
  if (*version != "13" || request.header_count("Sec-WebSocket-Version") != 1) {
    // §4.4: answer with the versions we do speak, so the client may retry with one of them.
    return refuse(426, "unsupported Sec-WebSocket-Version (this server speaks 13)",
                  {"Sec-WebSocket-Version: 13"});
  }
  const auto key = request.header("Sec-WebSocket-Key");
  if (!key) {
    return refuse(400, "missing Sec-WebSocket-Key");
  }
  if (request.header_count("Sec-WebSocket-Key") != 1 || !is_valid_key(*key)) {
    return refuse(400, "invalid Sec-WebSocket-Key (must be base64 of 16 bytes)");
  }

  UpgradeDecision decision;
  if (compression.mode != CompressionMode::kOff &&
      request.header_count("Sec-WebSocket-Extensions") > 0) {
    // Several header lines are one list (RFC 7230 §3.2.2): joined with commas, in order.
    std::string offered;
    for (const auto& [name, value] : request.headers) {
      if (equals_ignore_case(name, "Sec-WebSocket-Extensions")) {
        offered += (offered.empty() ? "" : ", ") + value;
      }
    }
    std::string error;
    const auto offers = parse_extension_offers(offered, error);
    if (!offers) {
      return refuse(400, error);
    }
    decision.compression = negotiate(*offers, compression);
  }
  decision.status = 101;
  decision.subprotocol = choose_subprotocol(request, supported_protocols);
  decision.response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      compute_accept_key(*key) + "\r\n";
  if (!decision.subprotocol.empty()) {
    decision.response += "Sec-WebSocket-Protocol: " + decision.subprotocol + "\r\n";
  }
  if (decision.compression) {
    decision.response += "Sec-WebSocket-Extensions: " + decision.compression->response + "\r\n";
  }
  decision.response += "\r\n";
  return decision;
}

}  // namespace ws

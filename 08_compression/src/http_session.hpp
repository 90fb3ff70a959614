// The HTTP side of a connection, before any upgrade: the chat page, the login at POST /login, and
// the opening handshake with its origin and one-time-password checks (RFC 6455 §4.2, §10.2),
// answered with 101 (then the WebSocket session takes over) or a refusal.
#pragma once

#include <chrono>
#include <memory>

#include "connection.hpp"

namespace ws {

/// How long a client may take to send its whole request head, counted from the connection, so it
/// includes the TLS handshake on an https port. A peer that connects and then trickles bytes
/// (slowloris) or says nothing gets 408 (or, during TLS, is dropped) instead of holding a
/// connection forever.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

/// The session a new connection starts with: it reads the request as its bytes arrive and ends
/// the connection, or upgrades it to the WebSocket session (websocket_session.hpp). A failed TLS
/// handshake is logged as `TLS handshake failed: <reason>`. Every outcome is logged as a line
/// starting with `#id `. Never throws for anything the peer does.
std::unique_ptr<Session> make_http_session(Connection& connection);

}  // namespace ws

// The HTTP side of a connection, before any upgrade: the chat page, the login at POST /login, and
// the opening handshake with its origin and one-time-password checks (RFC 6455 §4.2, §10.2),
// answered with 101 (then the WebSocket session takes over) or a refusal.
#pragma once

#include <chrono>
#include <cstdint>

#include "chat_services.hpp"
#include "options.hpp"
#include "socket.hpp"
#include "transport.hpp"

namespace ws {

/// How long a client may take to send its whole request head, counted from the connection, so it
/// includes the TLS handshake on an https port. A peer that connects and then trickles bytes
/// (slowloris) or says nothing gets 408 (or, during TLS, is dropped) instead of holding a thread
/// forever.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

/// Serves one accepted connection on the calling thread and returns when it is over: the peer
/// left, broke the protocol, was refused, or `stop` was triggered (then it sends 1001 Going Away
/// and waits for the reply). A TLS transport does its handshake first; a failed one is logged as
/// `TLS handshake failed: <reason>` and ends the connection. An upgraded connection is handed to
/// the WebSocket session (websocket_session.hpp). Every outcome is logged as a line starting with
/// `#id `, and the end of a WebSocket as `closed <code> "<reason>" (<who initiated it>)`. Never
/// throws for anything the peer does.
void serve_connection(Transport transport, std::uint64_t id, const Options& options,
                      const StopSignal& stop, ChatServices& services);

}  // namespace ws

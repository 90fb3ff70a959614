// The WebSocket side of a connection, once the opening handshake is done: the chat that reads
// frames (RFC 6455 §5), the heartbeat (§5.5.2, §5.5.3), and the closing handshake in both
// directions (§5.5.1, §7). With --echo, the same session echoes messages instead of chatting.
// Either way, messages are compressed when the handshake agreed on permessage-deflate (RFC 7692).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "connection.hpp"
#include "permessage_deflate.hpp"

namespace ws {

/// How long we wait for the peer's close frame after sending ours, before closing TCP anyway.
inline constexpr std::chrono::seconds kCloseTimeout{5};

/// The session of an upgraded connection whose 101 response is queued: the chat for `username`,
/// who joins the default room at once, or, without a username, the echo endpoint. It ends when
/// the peer closed or left, broke the protocol, stopped answering or reading, or the server shuts
/// down (then it sends 1001 Going Away and waits for the reply). Logs lines starting with `#id `,
/// the end as `closed <code> "<reason>" (<who initiated it>)`. Never throws for anything the peer
/// does. With `compression` (the agreement of the opening handshake) compressed messages are
/// accepted, and data messages are sent compressed.
std::unique_ptr<Session> make_websocket_session(
    Connection& connection, const std::optional<std::string>& username,
    const std::optional<DeflateAgreement>& compression = std::nullopt);

}  // namespace ws

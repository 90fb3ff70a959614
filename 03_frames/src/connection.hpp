// One client connection, from the first byte of its HTTP request to the end: the opening
// handshake (RFC 6455 §4), echoing the client's messages (§5), and the closing handshake (§7),
// whichever side starts it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "options.hpp"
#include "socket.hpp"

namespace ws {

/// How long a client may take to send its whole request head. A peer that connects and then
/// trickles bytes (slowloris) or says nothing gets 408 instead of holding a thread forever.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

/// How long we wait for the peer's close frame after sending ours, before closing TCP anyway.
inline constexpr std::chrono::seconds kCloseTimeout{5};

/// Serves one accepted connection on the calling thread and returns when it is over: the peer
/// left, broke the protocol, was refused, or `stop` was triggered (then it sends 1001 Going Away
/// and waits for the reply). Every outcome is logged as a line starting with `#id `, and the end
/// of a WebSocket as `closed <code> "<reason>" (<who initiated it>)`. Never throws for anything
/// the peer does.
void serve_connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop);

}  // namespace ws

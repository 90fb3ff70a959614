// The WebSocket side of a connection, once the opening handshake is done: the chat loop that reads
// frames (RFC 6455 §5), the heartbeat (§5.5.2, §5.5.3), the egress queue's flush, and the closing
// handshake in both directions (§5.5.1, §7).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "chat_services.hpp"
#include "options.hpp"
#include "socket.hpp"
#include "transport.hpp"

namespace ws {

/// How long we wait for the peer's close frame after sending ours, before closing TCP anyway.
inline constexpr std::chrono::seconds kCloseTimeout{5};

/// The most frames a connection's egress queue holds before its client counts as too slow
/// (gorilla's chat example uses a channel of 256 for the same purpose). With --max-message 4K
/// that bounds one slow client's queued memory to about 1 MiB.
inline constexpr std::size_t kEgressCapacity = 256;

/// Runs the chat for `username` on the calling thread over `transport`, whose handshake response
/// has just been sent, and returns when the connection is over: the peer closed or left, broke
/// the protocol, stopped answering or reading, or `stop` was triggered (then it sends 1001 Going
/// Away and waits for the reply). `received` holds the bytes that arrived behind the request head:
/// the start of the first frames. Logs lines starting with `#id `, the end as `closed <code>
/// "<reason>" (<who initiated it>)`. Never throws for anything the peer does.
void run_websocket_session(Transport transport, std::string received, std::uint64_t id,
                           const std::string& username, const Options& options,
                           const StopSignal& stop, ChatServices& services);

}  // namespace ws

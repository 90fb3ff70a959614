// One client connection, from the first byte of its HTTP request to the end: the login and the
// page (plain HTTP), the opening handshake with its origin and one-time-password checks (RFC 6455
// §4, §10.2), the chat itself (typed events over §5 text messages, delivered through the
// connection's egress queue), and the closing handshake (§7), whichever side starts it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "auth.hpp"
#include "broker.hpp"
#include "manager.hpp"
#include "options.hpp"
#include "socket.hpp"
#include "transport.hpp"

namespace ws {

/// How long a client may take to send its whole request head, counted from the connection, so it
/// includes the TLS handshake on an https port. A peer that connects and then trickles bytes
/// (slowloris) or says nothing gets 408 (or, during TLS, is dropped) instead of holding a thread
/// forever.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};

/// How long we wait for the peer's close frame after sending ours, before closing TCP anyway.
inline constexpr std::chrono::seconds kCloseTimeout{5};

/// The most frames a connection's egress queue holds before its client counts as too slow
/// (gorilla's chat example uses a channel of 256 for the same purpose). With --max-message 4K
/// that bounds one slow client's queued memory to about 1 MiB.
inline constexpr std::size_t kEgressCapacity = 256;

/// What all connections share: the rooms, who may log in, and the tokens issued.
/// With --redis, the broker shares the rooms and the tokens with the other servers.
struct ChatServices {
  ChatServices(UserStore known_users, std::chrono::milliseconds otp_lifetime,
               std::unique_ptr<Broker> chosen_broker)
      : broker(std::move(chosen_broker)),
        manager(*broker),
        users(std::move(known_users)),
        otps(otp_lifetime, kMaxOutstandingOtps, kMaxOtpsPerUser) {
    otps.share_through(*broker);
    broker->start({[this](const std::string& room, const SharedMessage& shared) {
                     manager.deliver_remote(room, shared);
                   },
                   [this](bool up) { manager.link_changed(up); }});
  }
  ChatServices(const ChatServices&) = delete;
  ChatServices& operator=(const ChatServices&) = delete;
  ChatServices(ChatServices&&) = delete;
  ChatServices& operator=(ChatServices&&) = delete;
  ~ChatServices() { broker->stop(); }  // its thread calls into the manager: stop it first

  /// Logins whose token has not been used yet, at most; more get 503 until tokens expire.
  static constexpr std::size_t kMaxOutstandingOtps = 10'000;
  /// The same for one user: more get 429, so one account cannot take every slot above.
  static constexpr std::size_t kMaxOtpsPerUser = 100;

  std::unique_ptr<Broker> broker;  // declared first: built before, destroyed after the manager
  Manager manager;
  UserStore users;
  OtpStore otps;
};

/// Serves one accepted connection on the calling thread and returns when it is over: the peer
/// left, broke the protocol, was refused, or `stop` was triggered (then it sends 1001 Going Away
/// and waits for the reply). A TLS transport does its handshake first; a failed one is logged as
/// `TLS handshake failed: <reason>` and ends the connection. Every outcome is logged as a line
/// starting with `#id `, and the end of a WebSocket as `closed <code> "<reason>" (<who initiated
/// it>)`. Never throws for anything the peer does.
void serve_connection(Transport transport, std::uint64_t id, const Options& options,
                      const StopSignal& stop, ChatServices& services);

}  // namespace ws

// What every connection of the chat shares: the rooms (manager.hpp), who may log in and the
// one-time passwords issued (auth.hpp), and, with --redis, the broker that shares them with the
// other servers (broker.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "auth.hpp"
#include "broker.hpp"
#include "manager.hpp"

namespace ws {

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

}  // namespace ws

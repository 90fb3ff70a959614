// What every connection of the chat shares: the rooms (manager.hpp), who may log in and the
// one-time passwords issued (auth.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include "auth.hpp"
#include "manager.hpp"

namespace ws {

/// What all connections share: the rooms, who may log in, and the tokens issued.
struct ChatServices {
  ChatServices(UserStore known_users, std::chrono::milliseconds otp_lifetime)
      : users(std::move(known_users)), otps(otp_lifetime, kMaxOutstandingOtps, kMaxOtpsPerUser) {}

  /// Logins whose token has not been used yet, at most; more get 503 until tokens expire.
  static constexpr std::size_t kMaxOutstandingOtps = 10'000;
  /// The same for one user: more get 429, so one account cannot take every slot above.
  static constexpr std::size_t kMaxOtpsPerUser = 100;

  Manager manager;
  UserStore users;
  OtpStore otps;
};

}  // namespace ws

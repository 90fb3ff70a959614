// Logging in before the upgrade: an ordinary HTTP request authenticates and returns a one-time
// password to connect with. Browsers cannot add an Authorization header to a WebSocket
// handshake, so the page first POSTs its credentials, gets a short-lived single-use token, and
// puts it in the WebSocket URL. Passwords are stored as salted PBKDF2 hashes (OpenSSL).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

class Broker;

/// PBKDF2-HMAC-SHA256 iterations for new password hashes (OWASP's 2023 advice for this hash).
inline constexpr std::uint32_t kPbkdf2Iterations = 600'000;

/// A users-file line for `username` and `password`: `name:pbkdf2-sha256:ITERATIONS:SALT:HASH`,
/// with a fresh 16-byte random salt, salt and hash in base64.
std::string hash_password_entry(std::string_view username, std::string_view password,
                                std::uint32_t iterations = kPbkdf2Iterations);

/// User names: 1-32 characters from a-z, 0-9, '_' and '-'.
bool is_valid_username(std::string_view username);

/// Who may log in, and with which password.
class UserStore {
 public:
  /// The two demo users of the course, alice/wonderland and bob/builder. Their passwords are
  /// public (the README prints them), so hashing them would protect nothing: they are compared
  /// directly, in constant time. The server logs a warning whenever they are active.
  static UserStore demo();

  /// Loads a users file (lines from hash_password_entry; '#' comments and blank lines allowed).
  /// Throws std::runtime_error naming the file and line of the first malformed entry.
  static UserStore load(const std::string& path);

  /// True if `password` is `username`'s. Takes as long for an unknown user as for a known one,
  /// so response times do not reveal which user names exist.
  [[nodiscard]] bool check(std::string_view username, std::string_view password) const;

  [[nodiscard]] bool is_demo() const { return demo_; }
  [[nodiscard]] std::size_t size() const { return users_.size(); }

 private:
  struct Entry {
    std::uint32_t iterations = 0;  // 0: a demo user with a plain password
    std::string salt;
    std::string hash;  // the plain password for a demo user
  };
  std::map<std::string, Entry, std::less<>> users_;
  bool demo_ = false;
};

/// One-time passwords: issued by POST /login, good for one upgrade within their lifetime.
/// Thread-safe (the Go chat this course started from kept its one-time passwords in a plain map
/// that several goroutines touched without a lock: a data race).
///
/// With several servers (share_through a RedisBroker), a token is also stored in Redis, so the
/// load balancer may send the upgrade to any server: the one that redeems it first wins, and
/// the token is gone for the others. A token issued while Redis is unreachable stays good on
/// this server only.
class OtpStore {
 public:
  using Clock = std::chrono::steady_clock;

  /// `lifetime`: how long a token stays valid. `capacity`: the most tokens outstanding at once,
  /// so a login flood cannot grow the map without bound. `per_user`: the most outstanding at
  /// once for one user, so one account (whose password an attacker knows) cannot take every
  /// slot and lock everybody else out.
  OtpStore(std::chrono::milliseconds lifetime, std::size_t capacity, std::size_t per_user);

  /// Also store tokens in `broker` (which must outlive the store) for the other servers.
  void share_through(Broker& broker) { broker_ = &broker; }

  /// Why issue() refused.
  enum class Refusal {
    kFull,            ///< `capacity` tokens outstanding: 503, try again shortly
    kTooManyForUser,  ///< `per_user` tokens outstanding for this user: 429
  };

  /// A new token for `username`: 32 bytes from OpenSSL's RAND_bytes, base64url (43 characters),
  /// or nullopt with `refusal` set. Tokens count as outstanding until redeemed here or expired.
  std::optional<std::string> issue(const std::string& username, Clock::time_point now,
                                   Refusal& refusal);

  /// The user a token was issued to, if it is known, unexpired and unused; the token is used up
  /// either way (single use).
  std::optional<std::string> redeem(std::string_view token, Clock::time_point now);

 private:
  struct Issued {
    std::string username;
    Clock::time_point expires;
    bool shared = false;  // in the broker too: the broker decides whether it is still good
  };
  using Tokens = std::map<std::string, Issued, std::less<>>;

  // Both need mutex_ held.
  void drop_expired(Clock::time_point now);
  void erase(Tokens::iterator token);

  const std::chrono::milliseconds lifetime_;
  const std::size_t capacity_;
  const std::size_t per_user_;
  Broker* broker_ = nullptr;
  std::mutex mutex_;
  Tokens tokens_;
  std::map<std::string, std::size_t, std::less<>> outstanding_;  // per user, for per_user_
};

}  // namespace ws

// Logging in before the upgrade: users, password hashes, one-time passwords.
#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "broker.hpp"

namespace ws {

namespace {

std::string random_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  if (::RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(size)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return bytes;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int size = ::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  const int size = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (size < 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock counts the padding as zero bytes; take them off again.
  const auto padding = static_cast<std::size_t>(std::count(text.end() - 2, text.end(), '='));
  out.resize(static_cast<std::size_t>(size) - padding);
  return out;
}

std::string pbkdf2(std::string_view password, std::string_view salt, std::uint32_t iterations) {
  std::string hash(32, '\0');
  ::PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()),
                      static_cast<int>(salt.size()), static_cast<int>(iterations), ::EVP_sha256(),
                      static_cast<int>(hash.size()), reinterpret_cast<unsigned char*>(hash.data()));
  return hash;
}

// Compares without stopping at the first difference, so timing does not leak how much matched.
bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(line);
  std::string part;
  while (std::getline(stream, part, separator)) {
    parts.push_back(part);
  }
  return parts;
}

}  // namespace

bool is_valid_username(std::string_view username) {
  return !username.empty() && username.size() <= 32 &&
         std::all_of(username.begin(), username.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

std::string hash_password_entry(std::string_view username, std::string_view password,
                                std::uint32_t iterations) {
  const std::string salt = random_bytes(16);
  return std::string(username) + ":pbkdf2-sha256:" + std::to_string(iterations) + ":" +
         base64(salt) + ":" + base64(pbkdf2(password, salt, iterations));
}

UserStore UserStore::demo() {
  UserStore store;
  store.demo_ = true;
  store.users_["alice"] = Entry{0, {}, "wonderland"};
  store.users_["bob"] = Entry{0, {}, "builder"};
  return store;
}

UserStore UserStore::load(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw std::runtime_error("cannot read users file " + path);
  }
  UserStore store;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const auto parts = split(line, ':');
    const auto fail = [&](const std::string& why) {
      return std::runtime_error(path + ":" + std::to_string(number) + ": " + why);
    };
    if (parts.size() != 5 || parts[1] != "pbkdf2-sha256") {
      throw fail("expected name:pbkdf2-sha256:iterations:salt:hash");
    }
    if (!is_valid_username(parts[0])) {
      throw fail("invalid user name '" + parts[0] + "'");
    }
    const auto salt = unbase64(parts[3]);
    const auto hash = unbase64(parts[4]);
    std::uint32_t iterations = 0;
    try {
      iterations = static_cast<std::uint32_t>(std::stoul(parts[2]));
    } catch (const std::exception&) {
      iterations = 0;
    }
    if (!salt || !hash || hash->size() != 32 || iterations == 0) {
      throw fail("malformed iterations, salt or hash");
    }
    store.users_[parts[0]] = Entry{iterations, *salt, *hash};
  }
  return store;
}

bool UserStore::check(std::string_view username, std::string_view password) const {
  const auto found = users_.find(username);
  if (found == users_.end()) {
    if (!demo_) {
      // Do the work a real user costs anyway, so an attacker cannot time which names exist.
      pbkdf2(password, "not a user salt", kPbkdf2Iterations);
    }
    return false;
  }
  const Entry& entry = found->second;
  if (entry.iterations == 0) {
    return equal_in_constant_time(password, entry.hash);
  }
  return equal_in_constant_time(pbkdf2(password, entry.salt, entry.iterations), entry.hash);
}

OtpStore::OtpStore(std::chrono::milliseconds lifetime, std::size_t capacity, std::size_t per_user)
    : lifetime_(lifetime), capacity_(capacity), per_user_(per_user) {}

void OtpStore::erase(Tokens::iterator token) {
  const auto count = outstanding_.find(token->second.username);
  if (count != outstanding_.end() && --count->second == 0) {
    outstanding_.erase(count);
  }
  tokens_.erase(token);
}

void OtpStore::drop_expired(Clock::time_point now) {
  for (auto token = tokens_.begin(); token != tokens_.end();) {
    const auto next = std::next(token);
    if (token->second.expires <= now) {
      erase(token);
    }
    token = next;
  }
}

std::optional<std::string> OtpStore::issue(const std::string& username, Clock::time_point now,
                                           Refusal& refusal) {
  std::string token = base64(random_bytes(32));
  // base64url (RFC 4648 §5): safe in a URL's query string without escaping; no padding.
  std::replace(token.begin(), token.end(), '+', '-');
  std::replace(token.begin(), token.end(), '/', '_');
  token.erase(std::remove(token.begin(), token.end(), '='), token.end());

  {
    const std::lock_guard lock(mutex_);
    const auto user_count = [&] {
      const auto found = outstanding_.find(username);
      return found == outstanding_.end() ? std::size_t{0} : found->second;
    };
    if (tokens_.size() >= capacity_ || user_count() >= per_user_) {
      drop_expired(now);
    }
    if (tokens_.size() >= capacity_) {
      refusal = Refusal::kFull;
      return std::nullopt;
    }
    if (user_count() >= per_user_) {
      refusal = Refusal::kTooManyForUser;
      return std::nullopt;
    }
    tokens_[token] = Issued{username, now + lifetime_, false};
    ++outstanding_[username];
  }
  // Outside the lock: a round trip to Redis must not hold up other logins on this server. The
  // token is not handed out yet, so nobody can redeem it meanwhile.
  if (broker_ != nullptr && broker_->share_token(token, username, lifetime_)) {
    const std::lock_guard lock(mutex_);
    if (const auto found = tokens_.find(token); found != tokens_.end()) {
      found->second.shared = true;
    }
  }
  return token;
}

std::optional<std::string> OtpStore::redeem(std::string_view token, Clock::time_point now) {
  {
    const std::lock_guard lock(mutex_);
    const auto found = tokens_.find(token);
    if (found != tokens_.end() && !found->second.shared) {
      const Issued issued = found->second;
      erase(found);  // single use, whether or not it was still valid
      if (issued.expires <= now) {
        return std::nullopt;
      }
      return issued.username;
    }
    if (found != tokens_.end()) {
      erase(found);  // shared: only the broker knows whether another server redeemed it
    }
  }
  if (broker_ != nullptr) {
    return broker_->take_token(std::string(token));
  }
  return std::nullopt;
}

}  // namespace ws

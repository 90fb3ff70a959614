// Logging in: password hashes, the users file, demo users, one-time passwords.
#include "auth.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace ws {
namespace {

using namespace std::chrono_literals;

// Few iterations keep the tests fast; the format and the check are the same as with 600,000.
constexpr std::uint32_t kTestIterations = 1000;

std::string write_temp_file(const std::string& contents) {
  std::string path = "/tmp/ws05_users_XXXXXX";
  const int fd = ::mkstemp(path.data());
  ::close(fd);
  std::ofstream(path) << contents;
  return path;
}

TEST(Auth, HashedEntriesVerifyOnlyTheRightPassword) {
  const std::string entry = hash_password_entry("carol", "correct horse", kTestIterations);
  EXPECT_EQ(entry.rfind("carol:pbkdf2-sha256:1000:", 0), 0U) << entry;
  EXPECT_EQ(entry.find("correct horse"), std::string::npos) << "never the password itself";
  const std::string path = write_temp_file("# users\n\n" + entry + "\n");
  const UserStore users = UserStore::load(path);
  std::remove(path.c_str());
  EXPECT_EQ(users.size(), 1U);
  EXPECT_FALSE(users.is_demo());
  EXPECT_TRUE(users.check("carol", "correct horse"));
  EXPECT_FALSE(users.check("carol", "correct horse "));
  EXPECT_FALSE(users.check("alice", "wonderland")) << "no demo users with a users file";
}

TEST(Auth, SaltsDiffer) {
  EXPECT_NE(hash_password_entry("carol", "same", kTestIterations),
            hash_password_entry("carol", "same", kTestIterations));
}

TEST(Auth, MalformedUsersFilesNameTheLine) {
  const std::string path = write_temp_file(hash_password_entry("carol", "pw", kTestIterations) +
                                           "\ndave:plain:secret\n");
  try {
    UserStore::load(path);
    ADD_FAILURE() << "a malformed line was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(path + ":2:"), std::string::npos) << error.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(UserStore::load("/nonexistent/users"), std::runtime_error);
}

TEST(Auth, DemoUsersAreAliceAndBob) {
  const UserStore demo = UserStore::demo();
  EXPECT_TRUE(demo.is_demo());
  EXPECT_TRUE(demo.check("alice", "wonderland"));
  EXPECT_TRUE(demo.check("bob", "builder"));
  EXPECT_FALSE(demo.check("alice", "builder"));
  EXPECT_FALSE(demo.check("mallory", "wonderland"));
}

TEST(Auth, UsernamesArePlain) {
  EXPECT_TRUE(is_valid_username("alice_2"));
  EXPECT_FALSE(is_valid_username(""));
  EXPECT_FALSE(is_valid_username("Alice"));
  EXPECT_FALSE(is_valid_username("a:b"));
  EXPECT_FALSE(is_valid_username(std::string(33, 'a')));
}

TEST(Otp, IsUrlSafeRandomAndSingleUse) {
  OtpStore otps(10s, 100);
  const auto now = OtpStore::Clock::now();
  const auto first = otps.issue("alice", now);
  const auto second = otps.issue("alice", now);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(first->size(), 43U) << "32 random bytes in unpadded base64url";
  EXPECT_EQ(
      first->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(otps.redeem(*first, now), "alice");
  EXPECT_EQ(otps.redeem(*first, now), std::nullopt) << "single use";
  EXPECT_EQ(otps.redeem("made-up", now), std::nullopt);
}

TEST(Otp, ExpiresAfterItsLifetime) {
  OtpStore otps(10s, 100);
  const auto now = OtpStore::Clock::now();
  const auto token = otps.issue("bob", now);
  ASSERT_TRUE(token);
  EXPECT_EQ(otps.redeem(*token, now + 10s), std::nullopt);
  const auto fresh = otps.issue("bob", now);
  EXPECT_EQ(otps.redeem(*fresh, now + 9s), "bob");
}

TEST(Otp, OutstandingTokensAreBounded) {
  OtpStore otps(10s, 2);
  const auto now = OtpStore::Clock::now();
  EXPECT_TRUE(otps.issue("a", now));
  EXPECT_TRUE(otps.issue("b", now));
  EXPECT_FALSE(otps.issue("c", now)) << "a login flood cannot grow the store";
  EXPECT_TRUE(otps.issue("c", now + 11s)) << "expired tokens make room";
}

}  // namespace
}  // namespace ws

// Logging in: password hashes, the users file, demo users, one-time passwords.
#include "auth.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "memory_broker.hpp"
#include "temp_dir.hpp"

namespace ws {
namespace {

using namespace std::chrono_literals;

// Few iterations keep the tests fast; the format and the check are the same as with 600,000.
constexpr std::uint32_t kTestIterations = 1000;

TEST(Auth, HashedEntriesVerifyOnlyTheRightPassword) {
  const std::string entry = hash_password_entry("carol", "correct horse", kTestIterations);
  EXPECT_EQ(entry.rfind("carol:pbkdf2-sha256:1000:", 0), 0U) << entry;
  EXPECT_EQ(entry.find("correct horse"), std::string::npos) << "never the password itself";
  const ws_test::TempDir dir;
  const UserStore users = UserStore::load(dir.write("users", "# users\n\n" + entry + "\n"));
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
  const ws_test::TempDir dir;
  const std::string path = dir.write(
      "users", hash_password_entry("carol", "pw", kTestIterations) + "\ndave:plain:secret\n");
  try {
    UserStore::load(path);
    ADD_FAILURE() << "a malformed line was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(path + ":2:"), std::string::npos) << error.what();
  }
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

// The refusal issue() reports; tests that expect a token ignore it.
std::optional<std::string> issue(OtpStore& otps, const std::string& user,
                                 OtpStore::Clock::time_point now) {
  OtpStore::Refusal refusal{};
  return otps.issue(user, now, refusal);
}

TEST(Otp, IsUrlSafeRandomAndSingleUse) {
  OtpStore otps(10s, 100, 10);
  const auto now = OtpStore::Clock::now();
  const auto first = issue(otps, "alice", now);
  const auto second = issue(otps, "alice", now);
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
  OtpStore otps(10s, 100, 10);
  const auto now = OtpStore::Clock::now();
  const auto token = issue(otps, "bob", now);
  ASSERT_TRUE(token);
  EXPECT_EQ(otps.redeem(*token, now + 10s), std::nullopt);
  const auto fresh = issue(otps, "bob", now);
  EXPECT_EQ(otps.redeem(*fresh, now + 9s), "bob");
}

TEST(Otp, OutstandingTokensAreBounded) {
  OtpStore otps(10s, 2, 10);
  const auto now = OtpStore::Clock::now();
  OtpStore::Refusal refusal{};
  EXPECT_TRUE(issue(otps, "a", now));
  EXPECT_TRUE(issue(otps, "b", now));
  EXPECT_FALSE(otps.issue("c", now, refusal)) << "a login flood cannot grow the store";
  EXPECT_EQ(refusal, OtpStore::Refusal::kFull);
  EXPECT_TRUE(issue(otps, "c", now + 11s)) << "expired tokens make room";
}

TEST(Otp, OneUserCannotTakeEverySlot) {
  OtpStore otps(10s, 100, 2);
  const auto now = OtpStore::Clock::now();
  const auto first = issue(otps, "mallory", now);
  ASSERT_TRUE(first);
  ASSERT_TRUE(issue(otps, "mallory", now));
  OtpStore::Refusal refusal{};
  EXPECT_FALSE(otps.issue("mallory", now, refusal));
  EXPECT_EQ(refusal, OtpStore::Refusal::kTooManyForUser);
  EXPECT_TRUE(issue(otps, "alice", now)) << "other users still log in";
  EXPECT_EQ(otps.redeem(*first, now), "mallory");
  EXPECT_TRUE(issue(otps, "mallory", now)) << "a redeemed token frees its slot";
  EXPECT_FALSE(otps.issue("mallory", now, refusal));
  EXPECT_TRUE(issue(otps, "mallory", now + 11s)) << "so does an expired one";
}

// Two servers' token stores, A and B, sharing tokens through an in-memory broker hub.
class SharedOtp : public ::testing::Test {
 protected:
  SharedOtp() {
    server_a.share_through(broker_a);
    server_b.share_through(broker_b);
  }

  ws_test::MemoryHub hub;
  ws_test::MemoryBroker broker_a{hub, "a"};
  ws_test::MemoryBroker broker_b{hub, "b"};
  OtpStore server_a{10s, 100, 10};
  OtpStore server_b{10s, 100, 10};
  const OtpStore::Clock::time_point now = OtpStore::Clock::now();
};

TEST_F(SharedOtp, TokensAreRedeemedOnceByAnyServer) {
  const auto token = issue(server_a, "alice", now);
  ASSERT_TRUE(token);
  EXPECT_EQ(server_b.redeem(*token, now), "alice") << "issued by A, good on B";
  EXPECT_EQ(server_a.redeem(*token, now), std::nullopt) << "and then on neither";
  EXPECT_EQ(server_b.redeem(*token, now), std::nullopt);

  const auto other = issue(server_a, "bob", now);
  ASSERT_TRUE(other);
  EXPECT_EQ(server_a.redeem(*other, now), "bob");
  EXPECT_EQ(server_b.redeem(*other, now), std::nullopt) << "used on A: gone for B too";
}

TEST_F(SharedOtp, WithoutTheSharedStoreATokenIsGoodOnItsOwnServer) {
  broker_a.reachable = false;  // Redis lost while logging in
  const auto token = issue(server_a, "alice", now);
  ASSERT_TRUE(token) << "logins keep working";
  broker_a.reachable = true;
  EXPECT_EQ(server_b.redeem(*token, now), std::nullopt) << "B never heard of it";
  EXPECT_EQ(server_a.redeem(*token, now), "alice");
  EXPECT_EQ(server_a.redeem(*token, now), std::nullopt) << "still single use";
}

}  // namespace
}  // namespace ws

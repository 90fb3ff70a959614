// Integration tests of the login before the upgrade: POST /login, one-time passwords, origin
// checks, users files. Every refusal happens before the upgrade, with an HTTP status.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "raw_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

namespace ws_test {
namespace {

// The status line of the answer to an upgrade request for `target` with `headers`.
std::string upgrade_status(std::uint16_t port, const std::string& target,
                           const std::string& headers) {
  RawClient client(port);
  const std::string response = client.handshake(headers, target);
  return response.substr(0, response.find("\r\n"));
}

std::string own_origin(std::uint16_t port) {
  return "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n";
}

TEST(Login, ReturnsAOneTimePassword) {
  ServerProcess server;
  const HttpResult result = login(server.port(), "alice", "wonderland");
  EXPECT_EQ(result.status, 200);
  EXPECT_NE(result.head.find("Content-Type: application/json"), std::string::npos);
  const auto body = nlohmann::json::parse(result.body);
  EXPECT_EQ(body.at("username"), "alice");
  EXPECT_EQ(body.at("otp").get<std::string>().size(), 43U);
  EXPECT_EQ(body.at("expires_in"), 10);
  EXPECT_TRUE(server.wait_for_line("demo users active"));
}

TEST(Login, RefusesWrongCredentialsAndMalformedRequests) {
  ServerProcess server;
  EXPECT_EQ(login(server.port(), "alice", "builder").status, 401);
  EXPECT_EQ(nlohmann::json::parse(login(server.port(), "mallory", "x").body).at("error"),
            "invalid username or password");
  EXPECT_EQ(http_post(server.port(), "/login", "{not json").status, 400);
  EXPECT_EQ(http_post(server.port(), "/login", R"({"username": "alice"})").status, 400);
  RawClient get(server.port());
  get.send("GET /login HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(get.read_http_response().rfind("HTTP/1.1 405", 0), 0U);
}

TEST(Login, OneUserCannotHoldEveryOneTimePassword) {
  ServerProcess server;
  // Unused tokens count against their user until redeemed or expired (10 s here): the 101st
  // login in a row gets 429, and other users are not affected.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(login(server.port(), "alice", "wonderland").status, 200) << "login " << i + 1;
  }
  const HttpResult refused = login(server.port(), "alice", "wonderland");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.head.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0U) << refused.head;
  EXPECT_EQ(nlohmann::json::parse(refused.body).at("error"),
            "too many logins in progress for this user, try again");
  EXPECT_TRUE(server.wait_for_line("login refused for alice: too many unused one-time passwords"));
  EXPECT_EQ(login(server.port(), "bob", "builder").status, 200);
}

TEST(Login, AnOtpOpensOneWebSocketOnly) {
  ServerProcess server;
  const std::string otp = login_otp(server.port(), "alice", "wonderland");
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=" + otp, own_origin(server.port())),
            "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=" + otp, own_origin(server.port())),
            "HTTP/1.1 401 Unauthorized")
      << "single use";
  EXPECT_EQ(upgrade_status(server.port(), "/ws", own_origin(server.port())),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=forged", own_origin(server.port())),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_TRUE(server.wait_for_line("rejected 401: invalid, expired or already used"));
}

TEST(Login, AnOtpExpires) {
  ServerProcess server({"--otp-lifetime", "200ms"});
  const std::string otp = login_otp(server.port(), "bob", "builder");
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=" + otp, own_origin(server.port())),
            "HTTP/1.1 401 Unauthorized");
}

TEST(Login, AForeignOriginGets403AndKeepsItsOtp) {
  ServerProcess server;
  const std::string otp = login_otp(server.port(), "alice", "wonderland");
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=" + otp, "Origin: https://evil.example\r\n"),
            "HTTP/1.1 403 Forbidden");
  EXPECT_TRUE(server.wait_for_line("rejected 403: origin https://evil.example is not allowed"));
  // Non-browser clients send no Origin at all; cross-site hijacking needs a browser, which
  // always sends one.
  EXPECT_EQ(upgrade_status(server.port(), "/ws?otp=" + otp, ""),
            "HTTP/1.1 101 Switching Protocols");
}

TEST(Login, AllowOriginReplacesTheDefault) {
  ServerProcess server({"--allow-origin", "https://chat.example"});
  EXPECT_EQ(
      upgrade_status(server.port(), "/ws?otp=" + login_otp(server.port(), "alice", "wonderland"),
                     "Origin: https://chat.example\r\n"),
      "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(
      upgrade_status(server.port(), "/ws?otp=" + login_otp(server.port(), "alice", "wonderland"),
                     own_origin(server.port())),
      "HTTP/1.1 403 Forbidden");
}

TEST(Login, TheWebSocketLivesAtSlashWs) {
  ServerProcess server;
  EXPECT_EQ(
      upgrade_status(server.port(), "/chat?otp=" + login_otp(server.port(), "alice", "wonderland"),
                     own_origin(server.port())),
      "HTTP/1.1 404 Not Found");
}

TEST(Login, ConnectionsOverTheLimitGet503BeforeAnything) {
  ServerProcess server({"--max-connections", "2"});
  RawClient first(server.port());
  RawClient second(server.port());
  first.send("GET / HTTP/1.1\r\n");  // both hold their connection, mid-request
  second.send("GET / HTTP/1.1\r\n");
  EXPECT_TRUE(server.wait_for_line("#2 connected from"));
  RawClient third(server.port());
  const std::string refused = third.read_http_response();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503 ", 0), 0U) << refused;
  EXPECT_TRUE(server.wait_for_line("#3 refused 503: 2 connections open (--max-connections)"));
  first.close_abruptly();
  second.close_abruptly();
  // The freed slots are noticed within the accept loop's one-second tick at the latest.
  bool served = false;
  for (int attempt = 0; attempt < 30 && !served; ++attempt) {
    RawClient page(server.port());
    page.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    served = page.read_http_response().rfind("HTTP/1.1 200 ", 0) == 0;
    if (!served) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_TRUE(served);
}

// A password hash (PBKDF2) takes a fifth of a second. On the loop it would stall every connection
// the loop serves; on the blocking pool, the chat goes on while logins are checked.
TEST(Login, PasswordsBeingHashedDoNotStallTheChat) {
  const TempDir dir;
  const std::string users = dir.file("users");
  const ProgramResult added = run_program({WS_SERVER_PATH, "--users", users, "--add-user", "carol"},
                                          "carols secret\ncarols secret\n");
  ASSERT_EQ(added.code, 0) << added.output;
  // One loop, so the chat and the logins share it.
  ServerProcess server({"--users", users, "--threads", "1", "--rate-limit", "0"});
  ChatUser carol(server.port(), "carol", "carols secret");

  constexpr int kLogins = 4;
  std::vector<std::future<std::chrono::steady_clock::time_point>> logins;
  logins.reserve(kLogins);
  for (int i = 0; i < kLogins; ++i) {
    logins.push_back(std::async(std::launch::async, [&server] {
      EXPECT_EQ(login(server.port(), "carol", "a wrong guess").status, 401);
      return std::chrono::steady_clock::now();
    }));
  }
  for (int i = 0; i < 5; ++i) {
    carol.say("still here " + std::to_string(i));
    EXPECT_EQ(carol.await("new_message").at("message"), "still here " + std::to_string(i));
  }
  const auto chatted = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_login{};
  for (auto& done : logins) {
    last_login = std::max(last_login, done.get());
  }
  EXPECT_LT(chatted, last_login) << "five chat round trips waited for the logins' password hashes";
}

TEST(Login, UsersFromAFileCreatedWithAddUser) {
  const TempDir dir;
  const std::string users = dir.file("users");
  // Run `server --users FILE --add-user carol` with the password on stdin, as a user would.
  const ProgramResult added = run_program({WS_SERVER_PATH, "--users", users, "--add-user", "carol"},
                                          "carols secret\ncarols secret\n");
  ASSERT_EQ(added.code, 0) << added.output;

  ServerProcess server({"--users", users});
  EXPECT_EQ(login(server.port(), "carol", "carols secret").status, 200);
  EXPECT_EQ(login(server.port(), "carol", "wrong").status, 401);
  EXPECT_EQ(login(server.port(), "alice", "wonderland").status, 401) << "no demo users";
  for (const auto& line : server.lines()) {
    EXPECT_EQ(line.find("demo users"), std::string::npos);
  }
}

TEST(Login, AMalformedUsersFileIsAStartupError) {
  const TempDir dir;
  const std::string users = dir.write("users", "carol:plaintext\n");
  // --port 0: the users file is read after the port is bound, and 8080 may be taken.
  const auto [code, output] = ServerProcess::run_to_exit({"--port", "0", "--users", users});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find(users + ":1:"), std::string::npos) << output;
}

}  // namespace
}  // namespace ws_test

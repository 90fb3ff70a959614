// Test helper: a chat user as the tests see one: log in over HTTP, open the WebSocket with the
// one-time password, send and await typed events. Built on the stage's own ws::Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "client.hpp"

namespace ws_test {

using namespace std::chrono_literals;

/// An HTTP response as the tests need it.
struct HttpResult {
  int status = 0;
  std::string head;
  std::string body;
};

/// POSTs `body` to `path` on 127.0.0.1:port (Content-Type: application/json).
HttpResult http_post(std::uint16_t port, const std::string& path, const std::string& body);

/// POST /login with a JSON body for `username` and `password`.
HttpResult login(std::uint16_t port, const std::string& username, const std::string& password);

/// The one-time password from a successful login; throws if the login fails.
std::string login_otp(std::uint16_t port, const std::string& username, const std::string& password);

/// The demo password of alice or bob.
std::string demo_password(const std::string& username);

/// A logged-in chat connection.
class ChatUser {
 public:
  /// Logs in as `username` (a demo user unless `password` is given) and connects to /ws with the
  /// page's own Origin. Consumes the first `room_changed` (room `general`) into `joined()`.
  ChatUser(std::uint16_t port, const std::string& username, const std::string& password = {});

  /// Sends {"type": type, "payload": payload}.
  void send(std::string_view type, const nlohmann::json& payload);
  /// Sends a chat message.
  void say(const std::string& message) { send("send_message", {{"message", message}}); }

  /// Waits for the next event of `type`, skipping others (presence, ...), and returns its
  /// payload. Throws on timeout or when the connection ends (ws::CloseError).
  nlohmann::json await(std::string_view type, std::chrono::milliseconds timeout = 5s);

  /// The payload of the `room_changed` received on connecting.
  [[nodiscard]] const nlohmann::json& joined() const { return joined_; }
  ws::Client& client() { return client_; }

 private:
  ws::Client client_;
  nlohmann::json joined_;
};

}  // namespace ws_test

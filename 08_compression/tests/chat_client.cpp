// Test helper: a chat user: HTTP login, WebSocket with the one-time password, typed events.
#include "chat_client.hpp"

#include <stdexcept>

#include "raw_client.hpp"

namespace ws_test {

HttpResult http_post(std::uint16_t port, const std::string& path, const std::string& body) {
  RawClient client(port);
  client.send("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
              "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string response = client.read_http_response();
  HttpResult result;
  result.status = std::stoi(response.substr(9, 3));
  const auto head_end = response.find("\r\n\r\n") + 4;
  result.head = response.substr(0, head_end);
  result.body = response.substr(head_end);
  return result;
}

HttpResult login(std::uint16_t port, const std::string& username, const std::string& password) {
  return http_post(port, "/login",
                   nlohmann::json{{"username", username}, {"password", password}}.dump());
}

std::string login_otp(std::uint16_t port, const std::string& username,
                      const std::string& password) {
  const HttpResult result = login(port, username, password);
  if (result.status != 200) {
    throw std::runtime_error("login failed: " + result.head + result.body);
  }
  return nlohmann::json::parse(result.body).at("otp").get<std::string>();
}

std::string demo_password(const std::string& username) {
  return username == "alice" ? "wonderland" : "builder";
}

namespace {

ws::Client dial_chat(std::uint16_t port, const std::string& otp) {
  ws::DialOptions options;
  options.headers = {{"Origin", "http://127.0.0.1:" + std::to_string(port)}};
  options.timeout = 5s;
  return ws::Client::dial("ws://127.0.0.1:" + std::to_string(port) + "/ws?otp=" + otp, options);
}

}  // namespace

ChatUser::ChatUser(std::uint16_t port, const std::string& username, const std::string& password)
    : client_(dial_chat(
          port, login_otp(port, username, password.empty() ? demo_password(username) : password))) {
  joined_ = await("room_changed");
}

void ChatUser::send(std::string_view type, const nlohmann::json& payload) {
  client_.send_text(nlohmann::json{{"type", type}, {"payload", payload}}.dump());
}

nlohmann::json ChatUser::await(std::string_view type, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int skipped = 0; skipped < 10'000; ++skipped) {
    const ws::Message message = client_.read_message(deadline);
    const nlohmann::json event = nlohmann::json::parse(message.payload);
    if (event.at("type") == type) {
      return event.at("payload");
    }
  }
  throw std::runtime_error("too many events while waiting for " + std::string(type));
}

}  // namespace ws_test

// The server under test: the run's target, and the chat's login before the upgrade.
#include "target.hpp"

#include <charconv>
#include <stdexcept>

#include "session.hpp"

namespace tester {
namespace {

Target& the_target() {
  static Target instance;
  return instance;
}

// Finds "name":"value" in a small JSON object (the login answer) without a JSON library: the
// tester's wire code depends on nothing a learner's server might share.
std::optional<std::string> json_string_field(std::string_view json, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\"";
  auto at = json.find(key);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  at = json.find('"', json.find(':', at + key.size()));
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const auto end = json.find('"', at + 1);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(json.substr(at + 1, end - at - 1));
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

const Target& target() { return the_target(); }
void set_target(const Target& target) { the_target() = target; }

std::optional<HttpExchange> http_request(const std::string& method, const std::string& path,
                                         const std::string& body, std::string* error) {
  const Deadline deadline = deadline_in(kReplyDeadline);
  WireClient client = WireClient::connect(target().address, deadline);
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + target().address.host + ":" +
                        std::to_string(target().address.port) + "\r\n";
  if (!body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  if (!target().origin.empty()) {
    request += "Origin: " + target().origin + "\r\n";
  }
  request += "Connection: close\r\n\r\n" + body;
  if (!client.send_bytes(request, SendPlan{}, deadline)) {
    *error = "could not send the request";
    return std::nullopt;
  }
  auto response = client.read_http_response(deadline, error);
  if (!response) {
    return std::nullopt;
  }
  HttpExchange exchange{*response, {}};
  std::size_t length = 0;
  if (const auto value = response->header("Content-Length")) {
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), length);
    if (ec != std::errc{} || length > std::size_t{1} << 20U) {
      *error = "bad Content-Length '" + *value + "'";
      return std::nullopt;
    }
  }
  auto content = client.read_body(length, deadline);
  if (!content) {
    *error = "the body ended before its Content-Length";
    return std::nullopt;
  }
  exchange.body = std::move(*content);
  return exchange;
}

std::optional<std::string> log_in(const Login& login, std::string* error) {
  const std::string body = "{\"username\":" + json_quote(login.username) +
                           ",\"password\":" + json_quote(login.password) + "}";
  const auto exchange = http_request("POST", "/login", body, error);
  if (!exchange) {
    return std::nullopt;
  }
  if (exchange->response.status != 200) {
    *error = "POST /login answered " + std::to_string(exchange->response.status) + " " +
             exchange->response.reason;
    return std::nullopt;
  }
  auto otp = json_string_field(exchange->body, "otp");
  if (!otp) {
    *error = "POST /login answered 200 without an \"otp\" field: " + preview(exchange->body);
  }
  return otp;
}

UpgradeRequest upgrade_request() {
  UpgradeRequest request;
  request.target = target().path;
  if (target().login) {
    std::string error;
    const auto otp = log_in(*target().login, &error);
    if (!otp) {
      throw std::runtime_error("login failed: " + error);
    }
    request.target += (request.target.find('?') == std::string::npos ? "?otp=" : "&otp=") + *otp;
  }
  if (!target().origin.empty()) {
    request.extra_headers.emplace_back("Origin", target().origin);
  }
  return request;
}

}  // namespace tester

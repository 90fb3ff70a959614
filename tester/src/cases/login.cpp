// Cases for the chat's login before the upgrade: POST /login returns a one-time password, the
// upgrade carries it in the URL (?otp=...), and the server checks the Origin (RFC 6455 §10.2)
// and the password (missing, unknown or used: 401) before answering 101 (§4.2.2 allows refusing
// an upgrade with any HTTP status).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cases/common.hpp"
#include "registry.hpp"
#include "target.hpp"

namespace tester {
namespace {

// A foreign page's Origin, as a browser would send it from an attacker's site.
const std::string kForeignOrigin = "https://evil.example";

const Login& the_login() {
  if (!target().login) {
    throw Skipped("the target has no login (not a chat stage)");
  }
  return *target().login;
}

// Sends `request` on a new connection and reads the answer's head; `key_out` gets the key sent.
std::optional<HttpResponse> send_upgrade(const UpgradeRequest& request, std::string* error,
                                         std::string* key_out = nullptr) {
  WireClient client = WireClient::connect(target().address, deadline_in(kReplyDeadline));
  note("> GET " + request.target + " (upgrade)");
  const std::string bytes = client.build_request(request, key_out);
  if (!client.send_bytes(bytes, SendPlan{}, deadline_in(kReplyDeadline))) {
    *error = "could not send the request";
    return std::nullopt;
  }
  auto response = client.read_http_response(deadline_in(kReplyDeadline), error);
  if (response) {
    note("< HTTP " + std::to_string(response->status) + " " + response->reason);
  }
  return response;
}

// An upgrade request for the chat's WebSocket with `otp` (none if empty) and the page's Origin.
UpgradeRequest chat_upgrade(const std::string& otp) {
  UpgradeRequest request;
  request.target = target().path;
  if (!otp.empty()) {
    request.target += (request.target.find('?') == std::string::npos ? "?otp=" : "&otp=") + otp;
  }
  if (!target().origin.empty()) {
    request.extra_headers.emplace_back("Origin", target().origin);
  }
  return request;
}

// Logs in as the run's user; a failed login fails the case with what the server answered.
std::string fresh_password() {
  std::string error;
  const auto otp = log_in(the_login(), &error);
  if (!otp) {
    throw std::runtime_error("login failed: " + error);
  }
  return *otp;
}

// A password the server never issued: 32 random hex digits.
std::string unknown_password() {
  std::random_device random;
  std::string out;
  for (int i = 0; i < 32; ++i) {
    out += "0123456789abcdef"[random() % 16];
  }
  return out;
}

// A valid upgrade: 101 with the right Sec-WebSocket-Accept (RFC 6455 §4.2.2).
Verdict judge_accepted(const std::optional<HttpResponse>& response, const std::string& error,
                       const std::string& key) {
  if (!response) {
    return {Behavior::kFailed, "no HTTP response: " + error};
  }
  if (response->status != 101) {
    return {Behavior::kFailed, "answered " + std::to_string(response->status) + " " +
                                   response->reason + " to an upgrade with a fresh password"};
  }
  if (response->header("Sec-WebSocket-Accept") != websocket_accept_for(key)) {
    return {Behavior::kFailed, "101 with a wrong Sec-WebSocket-Accept"};
  }
  return {};
}

// A refused request: `expected` is OK; the other refusal of a credential (401 for 403 or the
// reverse) is NON-STRICT; anything else (101, 404, 405, no answer) is FAILED.
Verdict judge_refused(const std::optional<HttpResponse>& response, const std::string& error,
                      int expected, const std::string& what) {
  if (!response) {
    return {Behavior::kFailed, "no HTTP response to " + what + ": " + error};
  }
  const std::string answer = std::to_string(response->status) + " " + response->reason;
  if (response->status == expected) {
    return {};
  }
  if (response->status == 401 || response->status == 403) {
    return {Behavior::kNonStrict, "answered " + answer + " to " + what + "; the course expects " +
                                      std::to_string(expected)};
  }
  return {Behavior::kFailed,
          "answered " + answer + " to " + what + "; expected " + std::to_string(expected)};
}

// The chat's rule (README "Login before the upgrade"): a password from POST /login opens one
// WebSocket: the upgrade with it is answered 101 with the right accept value (§4.2.2).
TESTER_CASE(login, Login_UpgradesWithAFreshPassword, "§4.2.2") {
  const std::string otp = fresh_password();
  std::string error;
  std::string key;
  report(judge_accepted(send_upgrade(chat_upgrade(otp), &error, &key), error, key));
}

// The chat's rule: a one-time password dies when used, so a replayed URL (from a log, a
// history) opens nothing; the second upgrade is refused with 401.
TESTER_CASE(login, Login_RefusesAPasswordUsedTwiceWith401, "§4.2.2") {
  const std::string otp = fresh_password();
  std::string error;
  std::string key;
  const Verdict first = judge_accepted(send_upgrade(chat_upgrade(otp), &error, &key), error, key);
  if (first.behavior != Behavior::kOk) {
    report({Behavior::kFailed, "first use: " + first.detail});
    return;
  }
  error.clear();
  report(judge_refused(send_upgrade(chat_upgrade(otp), &error), error, 401,
                       "a second upgrade with the same password"));
}

// The chat's rule: no password, no WebSocket (401, as for any missing credential).
TESTER_CASE(login, Login_RefusesAnUpgradeWithoutPasswordWith401, "§4.2.2") {
  the_login();
  std::string error;
  report(judge_refused(send_upgrade(chat_upgrade(""), &error), error, 401,
                       "an upgrade without ?otp="));
}

// The chat's rule: a password the server never issued is refused with 401.
TESTER_CASE(login, Login_RefusesAnUnknownPasswordWith401, "§4.2.2") {
  the_login();
  std::string error;
  report(judge_refused(send_upgrade(chat_upgrade(unknown_password()), &error), error, 401,
                       "an upgrade with a password the server never issued"));
}

// The chat's rule: POST /login with a wrong password is refused with 401 and gives no OTP.
TESTER_CASE(login, Login_RefusesAWrongPasswordAtLoginWith401, "§4.2.2") {
  const Login wrong{the_login().username, the_login().password + "-not-it"};
  const std::string body =
      nlohmann::json{{"username", wrong.username}, {"password", wrong.password}}.dump();
  std::string error;
  const auto exchange = http_request("POST", "/login", body, &error);
  std::optional<HttpResponse> response;
  if (exchange) {
    note("> POST /login (wrong password)");
    note("< HTTP " + std::to_string(exchange->response.status) + " " + exchange->response.reason);
    response = exchange->response;
  }
  Verdict verdict = judge_refused(response, error, 401, "POST /login with a wrong password");
  if (exchange && exchange->body.find("\"otp\"") != std::string::npos) {
    verdict = worst(
        verdict, {Behavior::kFailed, "the refusal carries an \"otp\": " + preview(exchange->body)});
  }
  report(verdict);
}

// RFC 6455 §10.2: the server must check Origin against cross-site WebSocket hijacking; a page
// from a foreign origin is refused with 403 even with a valid, fresh password.
TESTER_CASE(login, Login_RefusesAForeignOriginWith403, "§10.2") {
  UpgradeRequest request = chat_upgrade(fresh_password());
  std::erase_if(request.extra_headers, [](const auto& header) { return header.first == "Origin"; });
  request.extra_headers.emplace_back("Origin", kForeignOrigin);
  std::string error;
  report(judge_refused(send_upgrade(request, &error), error, 403,
                       "an upgrade from Origin " + kForeignOrigin));
}

}  // namespace
}  // namespace tester

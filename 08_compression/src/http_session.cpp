// The HTTP side of a connection: the chat page, the login (POST /login), and the opening
// handshake with its origin and one-time-password checks (RFC 6455 §4.2, §10.2), after which the
// connection belongs to the WebSocket session. Nothing here waits: each step runs when its bytes
// have arrived.
#include "http_session.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "handshake.hpp"
#include "http.hpp"
#include "log.hpp"
#include "websocket_session.hpp"
#include "worker.hpp"

namespace ws {

namespace {

class HttpSession final : public Session {
 public:
  explicit HttpSession(Connection& connection)
      : connection_(connection),
        options_(connection.worker().options()),
        services_(connection.worker().services()),
        // One budget for TLS and the request head: a peer stalling in either is gone after 10 s.
        deadline_(Clock::now() + kHandshakeTimeout) {
    log("connected from " + peer_address(connection.transport().fd()));
  }

  // Bytes arrived: the request head, then perhaps its body. Bytes may arrive one at a time or
  // together with the first frame, so we buffer until the blank line, and leave whatever
  // follows it in the inbox.
  void on_input() override {
    std::string& inbox = connection_.inbox();
    if (state_ == State::kDone) {
      inbox.clear();  // the answer is on its way; nothing more is read
      return;
    }
    if (state_ == State::kBody) {
      if (inbox.size() >= body_length_) {
        finish_login();
      }
      return;
    }
    if (state_ == State::kChecking) {
      return;  // one request per connection: anything more waits for the answer, then goes
    }
    const auto head_size = find_head_end(inbox);
    if (!head_size) {
      if (inbox.size() > kMaxRequestHeadSize) {
        refuse(431, "request head larger than " + std::to_string(kMaxRequestHeadSize) + " bytes");
      }
      return;
    }
    if (*head_size > kMaxRequestHeadSize) {
      refuse(431, "request head larger than " + std::to_string(kMaxRequestHeadSize) + " bytes");
      return;
    }
    std::string error;
    auto request = parse_request(std::string_view(inbox).substr(0, *head_size), error);
    if (!request) {
      refuse(400, error);
      return;
    }
    inbox.erase(0, *head_size);
    if (!looks_like_upgrade(*request)) {
      serve_http(std::move(*request));
      return;
    }
    upgrade(*request);  // the last thing this session does: the WebSocket session replaces it
  }

  void on_end(TryStatus status) override {
    if (state_ != State::kDone) {
      log_read_end(status == TryStatus::kEof ? "peer closed the connection " : "connection error ",
                   status == TryStatus::kError ? ": " + error_text(errno) : "");
      state_ = State::kDone;
    }
  }

  void on_timer(Clock::time_point now) override {
    if (state_ == State::kDone || state_ == State::kChecking || now < deadline_) {
      return;
    }
    if (!connection_.secure_channel_ready()) {
      log("TLS handshake failed: timed out");
      connection_.end();
    } else if (state_ == State::kHead) {
      refuse(408,
             "request not completed within " + std::to_string(kHandshakeTimeout.count()) + " s");
    } else {
      log("timed out before completing its request body");
      connection_.end();
    }
    state_ = State::kDone;
  }

  void on_stop() override {
    if (state_ == State::kDone) {
      return;
    }
    log(connection_.secure_channel_ready()
            ? "server shutting down, dropping the connection before completing its request"
            : "TLS handshake failed: server shutting down");
    state_ = State::kDone;
    connection_.end();
  }

  void on_frame(const Broadcast& /*broadcast*/) override {}  // not in any room yet

  void on_write_stalled() override { log("timed out sending the response"); }

  [[nodiscard]] Deadline next_wakeup() const override {
    // A password being checked comes back on its own: the pool always finishes its jobs.
    return state_ == State::kDone || state_ == State::kChecking ? kNoDeadline : deadline_;
  }

  [[nodiscard]] Clock::duration write_patience() const override { return kHandshakeTimeout; }

 private:
  enum class State { kHead, kBody, kChecking, kDone };

  void log(const std::string& text) const { connection_.log(text); }

  // Logs why the request stopped early.
  void log_read_end(const std::string& what, const std::string& detail) const {
    log(what +
        (state_ == State::kBody ? "before completing its request body"
                                : "before completing its request") +
        detail);
  }

  // Sends the whole response, then closes: one request per connection.
  void answer(std::string response) {
    connection_.send(std::move(response));
    connection_.end_after_flush();
    state_ = State::kDone;
  }

  void refuse(int status, const std::string& reason) {
    answer(http_response(status, "text/plain; charset=utf-8", reason + "\n"));
    log("rejected " + std::to_string(status) + ": " + reason);
  }

  // First the protocol (400/426), then who is asking (404/403/401): a malformed request never
  // uses up a one-time password. On success the WebSocket session takes the connection over.
  void upgrade(const HttpRequest& request) {
    const UpgradeDecision decision =
        evaluate_upgrade(request, options_.protocols, options_.compression);
    if (decision.status != 101) {
      answer(decision.response);
      log("rejected " + std::to_string(decision.status) + ": " + decision.reason);
      return;
    }
    const std::string path = request.target.substr(0, request.target.find('?'));
    const bool echo = !options_.echo_path.empty() && path == options_.echo_path;
    std::optional<std::string> username;
    if (!echo) {
      username = authorize_upgrade(request);
      if (!username) {
        return;
      }
    }
    connection_.send(decision.response);
    state_ = State::kDone;
    log((echo ? "upgraded to echo at " + path : "upgraded as " + *username) +
        (decision.compression ? " with " + decision.compression->response : std::string()));
    // Whatever followed the request head (the first frames, perhaps) belongs to the WebSocket.
    connection_.run(
        make_websocket_session(connection_, echo ? std::nullopt : username, decision.compression));
  }

  // Plain HTTP: the chat page at "/" and the login at POST /login.
  void serve_http(HttpRequest request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/login") {
      if (request.method != "POST") {
        respond(405, "text/plain; charset=utf-8", "use POST\n", {"Allow: POST"}, request);
        return;
      }
      read_body(std::move(request));
      return;
    }
    if (request.method != "GET") {
      respond(405, "text/plain; charset=utf-8", "only GET is supported\n", {"Allow: GET"}, request);
      return;
    }
    if (path != "/" && path != "/index.html") {
      respond(404, "text/plain; charset=utf-8", "not found\n", {}, request);
      return;
    }
    std::ifstream file(options_.web_root + "/index.html", std::ios::binary);
    if (!file) {
      respond(500, "text/plain; charset=utf-8", "chat page not found on the server\n", {}, request);
      return;
    }
    std::ostringstream page;
    page << file.rdbuf();
    respond(200, "text/html; charset=utf-8", page.str(), {"Cache-Control: no-store"}, request);
  }

  void respond(int status, std::string_view content_type, std::string_view body,
               const std::vector<std::string>& headers, const HttpRequest& request) {
    answer(http_response(status, content_type, body, headers));
    log("HTTP " + request.method + " " + request.target.substr(0, request.target.find('?')) +
        " -> " + std::to_string(status));
  }

  void respond_json(int status, const nlohmann::json& body, const HttpRequest& request) {
    respond(status, "application/json", body.dump() + "\n", {"Cache-Control: no-store"}, request);
  }

  // The request body (Content-Length bytes, at most 4 KiB), part of which may already be in the
  // inbox behind the head. Answers the error itself when it cannot be read; waits for the rest
  // of the body otherwise (the timer gives it the handshake's time again).
  void read_body(HttpRequest request) {
    constexpr std::size_t kMaxBody = 4096;
    const auto header = request.header("Content-Length");
    try {
      body_length_ = header ? std::stoul(std::string(*header)) : 0;
    } catch (const std::exception&) {
      respond(400, "text/plain; charset=utf-8", "invalid Content-Length\n", {}, request);
      return;
    }
    if (body_length_ > kMaxBody) {
      respond(413, "text/plain; charset=utf-8", "body too large\n", {}, request);
      return;
    }
    request_ = std::move(request);
    state_ = State::kBody;
    deadline_ = Clock::now() + kHandshakeTimeout;
    if (connection_.inbox().size() >= body_length_) {
      finish_login();
    }
  }

  // POST /login {"username", "password"} -> {"username", "otp", "expires_in"} or 401.
  void finish_login() {
    const HttpRequest request = std::move(*request_);
    const std::string body = connection_.inbox().substr(0, body_length_);
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    const auto field = [&json](const char* name) -> std::string {
      const auto found = json.is_object() ? json.find(name) : json.end();
      return found != json.end() && found->is_string() ? found->get<std::string>() : "";
    };
    const std::string username = field("username");
    const std::string password = field("password");
    if (username.empty() || password.empty()) {
      respond_json(400, {{"error", R"(expected JSON {"username": ..., "password": ...})"}},
                   request);
      return;
    }
    state_ = State::kChecking;
    request_ = request;
    if (services_.users.is_demo()) {
      // The demo users' passwords are plain text: comparing them costs nothing.
      password_checked(username, services_.users.check(username, password));
      return;
    }
    // A password's hash takes a fifth of a second: on the loop it would stall every connection
    // the loop serves, so it is checked on the blocking pool, and the answer comes back here.
    const bool queued = connection_.worker().offload(
        connection_.id(),
        [&users = services_.users, username, password] { return users.check(username, password); },
        [this, username](bool valid) { password_checked(username, valid); });
    if (!queued) {
      respond_json(503, {{"error", "too many logins in progress, try again"}}, request);
    }
  }

  // The login's password has been checked: a one-time password, or 401.
  void password_checked(const std::string& username, bool valid) {
    if (state_ != State::kChecking) {
      return;  // timed out or stopped meanwhile
    }
    const HttpRequest request = std::move(*request_);
    if (!valid) {
      log("login failed for " + printable(username.substr(0, 64)));
      respond_json(401, {{"error", "invalid username or password"}}, request);
      return;
    }
    OtpStore::Refusal refusal{};
    const auto otp = services_.otps.issue(username, OtpStore::Clock::now(), refusal);
    if (!otp && refusal == OtpStore::Refusal::kTooManyForUser) {
      log("login refused for " + username + ": too many unused one-time passwords");
      respond_json(429, {{"error", "too many logins in progress for this user, try again"}},
                   request);
      return;
    }
    if (!otp) {
      respond_json(503, {{"error", "too many logins in progress, try again"}}, request);
      return;
    }
    log("login ok for " + username);
    respond_json(200,
                 {{"username", username},
                  {"otp", *otp},
                  {"expires_in", std::chrono::duration<double>(options_.otp_lifetime).count()}},
                 request);
  }

  // Before any upgrade: the WebSocket lives at /ws, the page must come from an allowed origin
  // (RFC 6455 §10.2: the Origin header is how a server tells which site's script is connecting;
  // a browser always sends it and a page cannot forge it), and the URL must carry a valid one-time
  // password. Answers the refusal itself; returns the logged-in user on success.
  std::optional<std::string> authorize_upgrade(const HttpRequest& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path != "/ws") {
      refuse(404, "the WebSocket endpoint is /ws");
      return std::nullopt;
    }
    if (const auto origin = request.header("Origin")) {
      const auto& allowed = options_.allowed_origins;
      if (std::find(allowed.begin(), allowed.end(), *origin) == allowed.end()) {
        // Cross-site WebSocket hijacking: a page on another site could otherwise open a socket
        // with the victim's browser (and its cookies) and talk to us in the victim's name.
        refuse(403, "origin " + printable(*origin) + " is not allowed");
        return std::nullopt;
      }
    }
    const std::string otp = query_parameter(request.target, "otp");
    auto username = otp.empty() ? std::nullopt : services_.otps.redeem(otp, OtpStore::Clock::now());
    if (!username) {
      refuse(401, otp.empty() ? "missing one-time password (log in at POST /login first)"
                              : "invalid, expired or already used one-time password");
      return std::nullopt;
    }
    return username;
  }

  // The value of `name` in the target's query string ("/ws?otp=abc" -> "abc"); empty if absent.
  // The values we need (base64url tokens) contain no percent escapes.
  static std::string query_parameter(std::string_view target, std::string_view name) {
    const auto question = target.find('?');
    if (question == std::string_view::npos) {
      return {};
    }
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
          pair[name.size()] == '=') {
        return std::string(pair.substr(name.size() + 1));
      }
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
    return {};
  }

  Connection& connection_;
  const Options& options_;
  ChatServices& services_;
  State state_ = State::kHead;
  Deadline deadline_;                   // for the TLS handshake and the head, then the body
  std::optional<HttpRequest> request_;  // POST /login, while its body arrives
  std::size_t body_length_ = 0;
};

}  // namespace

std::unique_ptr<Session> make_http_session(Connection& connection) {
  return std::make_unique<HttpSession>(connection);
}

}  // namespace ws

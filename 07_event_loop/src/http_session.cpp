// The HTTP side of a connection: the chat page, the login (POST /login), and the opening
// handshake with its origin and one-time-password checks (RFC 6455 §4.2, §10.2), after which the
// connection belongs to the WebSocket session.
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

namespace ws {

namespace {

class HttpSession {
 public:
  HttpSession(Transport transport, std::uint64_t id, const Options& options, const StopSignal& stop,
              ChatServices& services)
      : transport_(std::move(transport)),
        id_(id),
        options_(options),
        stop_(stop),
        services_(services) {}

  void run() {
    log("connected from " + peer_address(transport_.fd()));
    // One budget for TLS and the request head: a peer stalling in either is gone after 10 s.
    handshake_deadline_ = Clock::now() + kHandshakeTimeout;
    if (std::string error;
        transport_.handshake(handshake_deadline_, stop_.fd(), error) != IoStatus::kOk) {
      log("TLS handshake failed: " + error);
      return;
    }
    const auto request = read_request();
    if (!request) {
      return;
    }
    if (!looks_like_upgrade(*request)) {
      serve_http(*request);
      return;
    }
    // First the protocol (400/426), then who is asking (404/403/401): a malformed request never
    // uses up a one-time password.
    const UpgradeDecision decision = evaluate_upgrade(*request, options_.protocols);
    if (decision.status != 101) {
      transport_.write_all(decision.response);
      log("rejected " + std::to_string(decision.status) + ": " + decision.reason);
      return;
    }
    const auto username = authorize_upgrade(*request);
    if (!username) {
      return;
    }
    if (transport_.write_all(decision.response) != IoStatus::kOk) {
      log("write failed during handshake: " + error_text(errno));
      return;
    }
    log("upgraded as " + *username);
    // Whatever followed the request head (the first frames, perhaps) belongs to the WebSocket.
    run_websocket_session(std::move(transport_), std::move(inbox_), id_, *username, options_, stop_,
                          services_);
  }

 private:
  void log(const std::string& text) const { log_line("#" + std::to_string(id_) + " " + text); }

  // Reads more bytes from the socket into inbox_, until the deadline or the stop signal.
  IoStatus fill(Deadline deadline) {
    // Not value-initialised on purpose: zeroing it would touch every page of this thread's stack
    // on each read, which costs CPU and keeps those pages resident for every idle connection.
    std::array<char, std::size_t{16} * 1024> chunk;
    std::size_t received = 0;
    const IoStatus status = transport_.read_some(chunk, received, deadline, stop_.fd(), -1);
    if (status == IoStatus::kOk) {
      inbox_.append(chunk.data(), received);
    }
    return status;
  }

  // Logs why reading stopped early; `during` says what we were waiting for.
  void log_read_end(IoStatus status, const std::string& during) const {
    switch (status) {
      case IoStatus::kEof:
        log("peer closed the connection " + during);
        break;
      case IoStatus::kStopped:
        log("server shutting down, dropping the connection " + during);
        break;
      case IoStatus::kTimeout:
        log("timed out " + during);
        break;
      case IoStatus::kError:
        log("connection error " + during + ": " + error_text(errno));
        break;
      case IoStatus::kOk:
      case IoStatus::kWoken:
        break;
    }
  }

  void refuse(int status, const std::string& reason) {
    transport_.write_all(http_response(status, "text/plain; charset=utf-8", reason + "\n"));
    log("rejected " + std::to_string(status) + ": " + reason);
  }

  // Reads the request head: bytes may arrive one at a time or together with the first frame,
  // so we buffer until the blank line and leave whatever follows in inbox_.
  std::optional<HttpRequest> read_request() {
    const Deadline deadline = handshake_deadline_;
    while (true) {
      if (const auto head_size = find_head_end(inbox_)) {
        if (*head_size > kMaxRequestHeadSize) {
          refuse(431, "request head larger than " + std::to_string(kMaxRequestHeadSize) + " bytes");
          return std::nullopt;
        }
        std::string error;
        auto request = parse_request(std::string_view(inbox_).substr(0, *head_size), error);
        if (!request) {
          refuse(400, error);
          return std::nullopt;
        }
        inbox_.erase(0, *head_size);
        return request;
      }
      if (inbox_.size() > kMaxRequestHeadSize) {
        refuse(431, "request head larger than " + std::to_string(kMaxRequestHeadSize) + " bytes");
        return std::nullopt;
      }
      const IoStatus status = fill(deadline);
      if (status == IoStatus::kTimeout) {
        refuse(408,
               "request not completed within " + std::to_string(kHandshakeTimeout.count()) + " s");
        return std::nullopt;
      }
      if (status != IoStatus::kOk) {
        log_read_end(status, "before completing its request");
        return std::nullopt;
      }
    }
  }

  // Plain HTTP: the chat page at "/" and the login at POST /login.
  void serve_http(const HttpRequest& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/login") {
      if (request.method != "POST") {
        respond(405, "text/plain; charset=utf-8", "use POST\n", {"Allow: POST"}, request);
        return;
      }
      login(request);
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
    transport_.write_all(http_response(status, content_type, body, headers),
                         Clock::now() + kHandshakeTimeout);
    log("HTTP " + request.method + " " + request.target.substr(0, request.target.find('?')) +
        " -> " + std::to_string(status));
  }

  void respond_json(int status, const nlohmann::json& body, const HttpRequest& request) {
    respond(status, "application/json", body.dump() + "\n", {"Cache-Control: no-store"}, request);
  }

  // POST /login {"username", "password"} -> {"username", "otp", "expires_in"} or 401.
  void login(const HttpRequest& request) {
    const auto body = read_body(request);
    if (!body) {
      return;
    }
    const nlohmann::json json = nlohmann::json::parse(*body, nullptr, false);
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
    if (!services_.users.check(username, password)) {
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

  // The request body (Content-Length bytes, at most 4 KiB), part of which may already be in
  // inbox_ behind the head. Answers the error itself and returns nullopt when it cannot be read.
  std::optional<std::string> read_body(const HttpRequest& request) {
    constexpr std::size_t kMaxBody = 4096;
    std::size_t length = 0;
    const auto header = request.header("Content-Length");
    try {
      length = header ? std::stoul(std::string(*header)) : 0;
    } catch (const std::exception&) {
      respond(400, "text/plain; charset=utf-8", "invalid Content-Length\n", {}, request);
      return std::nullopt;
    }
    if (length > kMaxBody) {
      respond(413, "text/plain; charset=utf-8", "body too large\n", {}, request);
      return std::nullopt;
    }
    const Deadline deadline = Clock::now() + kHandshakeTimeout;
    while (inbox_.size() < length) {
      if (const IoStatus status = fill(deadline); status != IoStatus::kOk) {
        log_read_end(status, "before completing its request body");
        return std::nullopt;
      }
    }
    return inbox_.substr(0, length);
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

  Transport transport_;
  std::uint64_t id_;
  const Options& options_;
  const StopSignal& stop_;
  ChatServices& services_;
  std::string inbox_;              // bytes received and not yet parsed
  Deadline handshake_deadline_{};  // when the TLS handshake and the request head must be done
};

}  // namespace

void serve_connection(Transport transport, std::uint64_t id, const Options& options,
                      const StopSignal& stop, ChatServices& services) {
  HttpSession(std::move(transport), id, options, stop, services).run();
}

}  // namespace ws

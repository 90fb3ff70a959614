// One client connection: the login and the page (HTTP), the opening handshake with its origin
// and one-time-password checks (RFC 6455 §4.2, §10.2), the chat loop (§5), and the closing
// handshake in both directions (§5.5.1, §7).
#include "connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

#include "close.hpp"
#include "event.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "heartbeat.hpp"
#include "http.hpp"
#include "log.hpp"
#include "message.hpp"
#include "rate_limit.hpp"

namespace ws {

namespace {

class Connection {
 public:
  Connection(Transport transport, std::uint64_t id, const Options& options, const StopSignal& stop,
             ChatServices& services)
      : transport_(std::move(transport)),
        id_(id),
        options_(options),
        stop_(stop),
        services_(services),
        reader_(Role::kServer, Limits{options.max_message, options.max_message}),
        heartbeat_(options.ping_period, options.pong_wait, Clock::now()),
        rate_(options.rate_limit, 2 * options.rate_limit, Clock::now()),
        egress_(kEgressCapacity) {}

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
    chat(*username);
  }

 private:
  void log(const std::string& text) const { log_line("#" + std::to_string(id_) + " " + text); }

  // Reads more bytes from the socket into inbox_. Once our close frame is out, a shutdown has
  // already been answered, so only the deadline may cut the wait for the peer's reply short.
  IoStatus fill(Deadline deadline) {
    if (inbox_pos_ > 0) {  // drop what the reader has consumed before appending more
      inbox_.erase(0, inbox_pos_);
      inbox_pos_ = 0;
    }
    // Not value-initialised on purpose: zeroing it would touch every page of this thread's stack
    // on each read, which costs CPU and keeps those pages resident for every idle connection.
    std::array<char, std::size_t{16} * 1024> chunk;
    std::size_t received = 0;
    // Once closing, neither the stop signal nor queued broadcasts may interrupt the wait.
    const IoStatus status = transport_.read_some(
        chunk, received, deadline, closing_ ? -1 : stop_.fd(), closing_ ? -1 : egress_.wake_fd());
    if (status == IoStatus::kOk) {
      inbox_.append(chunk.data(), received);
      heartbeat_.on_activity();  // any bytes, even half a frame, prove the peer is alive
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

  // Sends one unfragmented frame. Header and payload go out in one system call without being
  // copied together, which matters for large messages. A peer that does not take the frame within
  // pong_wait (it stopped reading) counts as gone: the write fails with kTimeout.
  //
  // This thread is the only one that ever writes to the socket: replies, queued broadcasts, pongs,
  // pings from the heartbeat and close frames all go out from the connection's loop, one after
  // the other, so two frames can never interleave on the wire.
  IoStatus send_frame(Opcode opcode, std::string_view payload) {
    FrameHeader header;
    header.opcode = static_cast<std::uint8_t>(opcode);
    header.payload_length = payload.size();
    // §5.1: a server MUST NOT mask the frames it sends.
    std::array<char, kMaxFrameHeaderSize> head{};
    const std::size_t head_size = encode_frame_header(header, head);
    return transport_.write_all(std::string_view(head.data(), head_size), payload,
                                Clock::now() + options_.pong_wait);
  }

  bool send_close(const CloseStatus& status) {
    return send_frame(Opcode::kClose, encode_close_payload(status)) == IoStatus::kOk;
  }

  // Feeds buffered bytes to the reader, reading more from the socket as needed, until it
  // completes an event or finds a broken rule. Returns kOk with `result` holding the event or
  // the error, or the I/O status that ended the wait first.
  //
  // The heartbeat learns what every read did to the message under way: a frame or message that
  // starts while we wait opens its window (§10.4), which can bring the wake-up forward. Once
  // closing, only the close handshake's own deadline counts.
  IoStatus next_event(MessageReader::Result& result, Deadline deadline) {
    while (true) {
      if (inbox_pos_ < inbox_.size()) {
        result = reader_.read(std::string_view(inbox_).substr(inbox_pos_));
        inbox_pos_ += result.consumed;
        heartbeat_.on_message_bytes(result.consumed, !reader_.between_messages(), Clock::now());
        if (result.event || result.error) {
          return IoStatus::kOk;
        }
      }
      const Deadline until = closing_ ? deadline : std::min(deadline, heartbeat_.next_wakeup());
      if (const IoStatus status = fill(until); status != IoStatus::kOk) {
        return status;
      }
    }
  }

  // The peer started the closing handshake (§7.1.2) with a valid close frame (the reader has
  // checked its code and reason): answer with a close frame echoing its code (§5.5.1), then
  // close TCP at once: §7.1.1 says the server should be the first to close it.
  void answer_close(const CloseStatus& received) {
    // Echo the code only; an empty close (1005, "no status") is answered with an empty close.
    send_close(CloseStatus{received.code, {}});
    log("closed " + describe(received) + " (initiated by client)");
  }

  // We start the closing handshake (§7.1.2): send our close frame, then wait up to
  // kCloseTimeout for the peer's close frame before closing TCP. Data frames that arrive in the
  // meantime are read and discarded (§1.4: after a close the other side's data no longer
  // matters). Reading them, rather than closing at once, keeps the kernel from answering
  // unread data with a reset, which can destroy our close frame before the peer reads it.
  void close(const CloseStatus& status, Clock::duration reply_wait = kCloseTimeout) {
    closing_ = true;
    if (!send_close(status)) {
      log("closed " + describe(status) + " (initiated by server; the peer was already gone)");
      return;
    }
    // We will send nothing after our close frame, so a FIN may follow it right away: the peer
    // learns that TCP is ending as soon as it has read our close, and can still reply.
    transport_.shutdown_write();
    const Deadline deadline = Clock::now() + reply_wait;
    while (true) {
      MessageReader::Result result;
      const IoStatus io = next_event(result, deadline);
      if (io == IoStatus::kOk && result.error) {
        // We are failing the connection (or the peer broke a rule while we waited): §7.1.7
        // says to process nothing more from it, so its bytes are discarded until it closes.
        discard_until_closed(deadline);
        log("closed " + describe(status) + " (initiated by server)");
        return;
      }
      if (io != IoStatus::kOk) {
        std::string reply = "no close reply";
        if (reply_wait == Clock::duration::zero()) {
          reply = "did not wait for a close reply";  // on purpose: the callers say why
        } else if (io == IoStatus::kTimeout) {
          reply = "no close reply within " + milliseconds(reply_wait);
        }
        log("closed " + describe(status) + " (initiated by server; " + reply + ")");
        return;
      }
      if (const auto* reply = std::get_if<Close>(&*result.event)) {
        log("closed " + describe(status) + " (initiated by server; client replied " +
            describe(reply->status) + ")");
        return;
      }
    }
  }

  // Reads and drops everything the peer sends until it closes TCP or the deadline passes.
  void discard_until_closed(Deadline deadline) {
    while (fill(deadline) == IoStatus::kOk) {
      inbox_.clear();
      inbox_pos_ = 0;
    }
  }

  // The TCP connection ended without a closing handshake. 1006 is what the peer's API reports
  // for this; §7.4.1 forbids sending it, and there is nobody left to send it to anyway.
  void log_abnormal_closure(IoStatus status) const {
    log("closed 1006 (abnormal closure: " +
        std::string(status == IoStatus::kEof     ? "peer closed TCP without a close frame"
                    : status == IoStatus::kError ? "connection error: " + error_text(errno)
                                                 : "no close frame") +
        ")");
  }

  // The chat loop. Besides the socket and the stop signal, the thread now also sleeps on its
  // egress queue's eventfd: other connections hand it the frames of their broadcasts, and this
  // thread, the socket's only writer, sends them. Text messages are events, routed by type to a
  // handler; pings are answered, pongs, silence and unfinished messages feed the heartbeat, and
  // closes are handled as in any WebSocket connection.
  void chat(const std::string& username) {
    Member member{username, &egress_, {}, {}};
    member_ = &member;
    // However the loop ends, the member leaves its room before `member` goes away.
    struct Leave {
      Manager& manager;
      Member& member;
      ~Leave() { manager.leave(member); }
    } leave{services_.manager, member};
    services_.manager.join(member, Manager::kDefaultRoom);
    log(username + " joined " + Manager::kDefaultRoom);

    while (true) {
      if (const auto ping = heartbeat_.ping_due(Clock::now())) {
        if (const IoStatus sent = send_frame(Opcode::kPing, *ping); sent != IoStatus::kOk) {
          log_write_failure(sent);
          return;
        }
      }
      MessageReader::Result result;
      const IoStatus status = next_event(result, heartbeat_.next_wakeup());
      if (status == IoStatus::kWoken) {
        if (!flush_egress()) {
          return;
        }
        continue;
      }
      if (status == IoStatus::kTimeout) {
        const auto now = Clock::now();
        if (heartbeat_.expired(now)) {
          // §7.4.1: 1001 says that the endpoint *sending* it is "going away". No code means
          // "you stopped answering", and here the server is the one leaving this connection.
          log("heartbeat timeout: no sign of life within " + milliseconds(options_.pong_wait) +
              " of a ping");
          close(make_close_status(CloseCode::kGoingAway, "heartbeat timeout"),
                Clock::duration::zero());
          return;
        }
        if (heartbeat_.message_too_slow(now)) {
          // The peer is alive (it keeps sending), but a message it started is not getting
          // anywhere: a slowloris inside a frame. §7.4.1: 1008, a policy violation, "a generic
          // status code ... when there is no other more suitable status code": no rule of the
          // protocol is broken (1002), nothing is too big (1009), and the server is not simply
          // leaving (1001): it refuses what this peer does.
          // As for a dead peer, our close frame goes out and no reply is awaited: the peer
          // could answer only after finishing the frame it is sending, the very thing it does
          // not do.
          log("message too slow: an unfinished message sent fewer than " +
              std::to_string(kMessageProgressBytes) + " bytes in " +
              milliseconds(heartbeat_.message_window()));
          close(make_close_status(CloseCode::kPolicyViolation, "message too slow"),
                Clock::duration::zero());
          return;
        }
        continue;  // time for the next ping
      }
      if (status == IoStatus::kStopped) {
        // §7.4.1: 1001, "an endpoint is going away, such as a server going down".
        close(make_close_status(CloseCode::kGoingAway, "server shutting down"));
        return;
      }
      if (status != IoStatus::kOk) {
        log_abnormal_closure(status);
        return;
      }
      if (result.error) {
        // §7.1.7: fail the connection, with the code the broken rule calls for.
        close(*result.error);
        return;
      }
      IoStatus sent = IoStatus::kOk;
      if (const auto* message = std::get_if<Message>(&*result.event)) {
        sent = message->type == Opcode::kText
                   ? handle_event(message->payload)
                   : send_text(error_event("binary messages are not part of the chat protocol"));
      } else if (const auto* ping = std::get_if<Ping>(&*result.event)) {
        sent = send_frame(Opcode::kPong, ping->payload);
      } else if (const auto* pong = std::get_if<Pong>(&*result.event)) {
        if (const auto match = heartbeat_.match_pong(pong->payload, Clock::now());
            match && options_.verbose) {
          log("pong " + std::to_string(match->sequence) + ": round trip " +
              microseconds(match->round_trip));
        }
      } else if (const auto* close_frame = std::get_if<Close>(&*result.event)) {
        answer_close(close_frame->status);
        return;
      }
      if (sent != IoStatus::kOk) {
        log_write_failure(sent);
        return;
      }
    }
  }

  // Writes every frame waiting in the egress queue, in one batch. Returns false when the
  // connection is over: the queue overflowed (the client reads too slowly: 1008) or a write
  // failed.
  bool flush_egress() {
    const std::vector<SharedFrame> frames = egress_.drain();
    if (egress_.overflowed()) {
      log("slow consumer: more than " + std::to_string(kEgressCapacity) +
          " frames waiting; closing");
      // §7.4.1: 1008, a policy violation: we cannot keep a growing backlog for one reader.
      close(make_close_status(CloseCode::kPolicyViolation, "slow consumer"),
            Clock::duration::zero());
      return false;
    }
    std::vector<std::string_view> parts;
    parts.reserve(frames.size());
    for (const SharedFrame& frame : frames) {
      parts.emplace_back(*frame);
    }
    if (const IoStatus status = transport_.write_all(parts, Clock::now() + options_.pong_wait);
        status != IoStatus::kOk) {
      log_write_failure(status);
      return false;
    }
    return true;
  }

  IoStatus send_text(const std::string& text) { return send_frame(Opcode::kText, text); }

  // Routes one text message to the handler of its event type. Anything wrong with the event is
  // answered with an `error` event; the connection stays open.
  IoStatus handle_event(const std::string& text) {
    std::string error;
    const auto event = parse_event(text, error);
    if (!event) {
      return send_text(error_event(error));
    }
    using Handler = IoStatus (Connection::*)(const nlohmann::json& payload);
    static const std::map<std::string, Handler, std::less<>> handlers = {
        {"send_message", &Connection::on_send_message},
        {"change_room", &Connection::on_change_room},
        {"list_rooms", &Connection::on_list_rooms},
    };
    const auto handler = handlers.find(event->type);
    if (handler == handlers.end()) {
      return send_text(error_event("unknown event type '" + printable(event->type) + "'"));
    }
    return (this->*handler->second)(event->payload);
  }

  static std::string string_field(const nlohmann::json& payload, const char* name) {
    const auto found = payload.find(name);
    return found != payload.end() && found->is_string() ? found->get<std::string>() : "";
  }

  IoStatus on_send_message(const nlohmann::json& payload) {
    const std::string message = string_field(payload, "message");
    std::string error;
    if (!is_valid_message_text(message, error)) {
      return send_text(error_event(error));
    }
    if (!rate_.take(Clock::now())) {
      return send_text(error_event(
          "rate limit: at most " + std::to_string(static_cast<int>(options_.rate_limit)) +
          " messages per second (bursts of " +
          std::to_string(static_cast<int>(2 * options_.rate_limit)) + ")"));
    }
    // The sender's own copy comes back through its egress queue like everyone else's, so it
    // sees its message in the same order as the other members do.
    services_.manager.broadcast(*member_, message, std::chrono::system_clock::now());
    return IoStatus::kOk;
  }

  IoStatus on_change_room(const nlohmann::json& payload) {
    const std::string room = string_field(payload, "room");
    if (!is_valid_room_name(room)) {
      return send_text(error_event("invalid room name: 1-32 characters from A-Z a-z 0-9 _ -"));
    }
    const std::string previous = member_->room;
    services_.manager.join(*member_, room);
    if (options_.verbose) {
      log(member_->username + " moved from " + previous + " to " + room);
    }
    return IoStatus::kOk;
  }

  IoStatus on_list_rooms(const nlohmann::json& /*payload*/) {
    return send_text(encode_event("rooms", services_.manager.rooms()));
  }

  // A frame could not be written: the peer vanished, or stopped reading for longer than pong_wait.
  // Either way no close frame can get through, so TCP is simply closed.
  void log_write_failure(IoStatus status) const {
    log("closed 1006 (abnormal closure: " +
        (status == IoStatus::kTimeout ? "the peer stopped reading: a write made no progress in " +
                                            milliseconds(options_.pong_wait)
                                      : "write failed: " + error_text(errno)) +
        ")");
  }

  static std::string milliseconds(Clock::duration duration) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
           " ms";
  }

  static std::string microseconds(Clock::duration duration) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
    return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
  }

  Transport transport_;
  std::uint64_t id_;
  const Options& options_;
  const StopSignal& stop_;
  ChatServices& services_;
  MessageReader reader_;
  Heartbeat heartbeat_;
  TokenBucket rate_;
  EgressQueue egress_;
  Member* member_ = nullptr;  // set while chatting
  std::string inbox_;         // bytes received; those before inbox_pos_ are consumed
  std::size_t inbox_pos_ = 0;
  bool closing_ = false;  // our close frame is out: only its reply (or the deadline) matters
  Deadline handshake_deadline_{};  // when the TLS handshake and the request head must be done
};

}  // namespace

void serve_connection(Transport transport, std::uint64_t id, const Options& options,
                      const StopSignal& stop, ChatServices& services) {
  Connection(std::move(transport), id, options, stop, services).run();
}

}  // namespace ws

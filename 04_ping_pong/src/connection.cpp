// One client connection: opening handshake (RFC 6455 §4.2), echoing messages (§5), and the
// closing handshake in both directions (§5.5.1, §7).
#include "connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>

#include "close.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "heartbeat.hpp"
#include "http.hpp"
#include "log.hpp"
#include "message.hpp"

namespace ws {

namespace {

class Connection {
 public:
  Connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop)
      : socket_(std::move(socket)),
        id_(id),
        options_(options),
        stop_(stop),
        reader_(Role::kServer, Limits{options.max_message, options.max_message}),
        heartbeat_(options.ping_period, options.pong_wait, Clock::now()) {}

  void run() {
    log("connected from " + peer_address(socket_.get()));
    const auto request = read_request();
    if (!request) {
      return;
    }
    if (!looks_like_upgrade(*request)) {
      serve_http(*request);
      return;
    }
    const UpgradeDecision decision = evaluate_upgrade(*request, options_.protocols);
    if (write_all(socket_.get(), decision.response) != IoStatus::kOk) {
      log("write failed during handshake: " + error_text(errno));
      return;
    }
    if (decision.status != 101) {
      log("rejected " + std::to_string(decision.status) + ": " + decision.reason);
      return;
    }
    log("upgraded" + (decision.subprotocol.empty()
                          ? std::string()
                          : " (subprotocol: " + decision.subprotocol + ")"));
    echo_messages();
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
    const IoStatus status =
        read_some(socket_.get(), chunk, received, deadline, closing_ ? -1 : stop_.fd());
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
        break;
    }
  }

  void refuse(int status, const std::string& reason) {
    write_all(socket_.get(), http_response(status, "text/plain; charset=utf-8", reason + "\n"));
    log("rejected " + std::to_string(status) + ": " + reason);
  }

  // Reads the request head: bytes may arrive one at a time or together with the first frame,
  // so we buffer until the blank line and leave whatever follows in inbox_.
  std::optional<HttpRequest> read_request() {
    const Deadline deadline = Clock::now() + kHandshakeTimeout;
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

  // Plain HTTP: the test page at "/", nothing else.
  void serve_http(const HttpRequest& request) {
    if (request.method != "GET") {
      write_all(socket_.get(), http_response(405, "text/plain; charset=utf-8",
                                             "only GET is supported\n", {"Allow: GET"}));
      log("HTTP " + request.method + " " + request.target + " -> 405");
      return;
    }
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path != "/" && path != "/index.html") {
      write_all(socket_.get(), http_response(404, "text/plain; charset=utf-8", "not found\n"));
      log("HTTP GET " + request.target + " -> 404");
      return;
    }
    std::ifstream file(options_.web_root + "/index.html", std::ios::binary);
    if (!file) {
      write_all(socket_.get(), http_response(500, "text/plain; charset=utf-8",
                                             "test page not found on the server\n"));
      log("HTTP GET " + request.target + " -> 500: cannot read " + options_.web_root +
          "/index.html");
      return;
    }
    std::ostringstream page;
    page << file.rdbuf();
    write_all(socket_.get(), http_response(200, "text/html; charset=utf-8", page.str(),
                                           {"Cache-Control: no-store"}));
    log("HTTP GET " + request.target + " -> 200");
  }

  // Sends one unfragmented frame. Header and payload go out in one system call without being
  // copied together, which matters for large echoes. A peer that does not take the frame within
  // pong_wait (it stopped reading) counts as gone: the write fails with kTimeout.
  //
  // This thread is the only one that ever writes to the socket: echoes, pongs, pings from the
  // heartbeat and close frames all go out from the connection's loop, one after the other, so
  // two frames can never interleave on the wire.
  IoStatus send_frame(Opcode opcode, std::string_view payload) {
    FrameHeader header;
    header.opcode = static_cast<std::uint8_t>(opcode);
    header.payload_length = payload.size();
    // §5.1: a server MUST NOT mask the frames it sends.
    std::array<char, kMaxFrameHeaderSize> head{};
    const std::size_t head_size = encode_frame_header(header, head);
    return write_all(socket_.get(), std::string_view(head.data(), head_size), payload,
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
    ::shutdown(socket_.get(), SHUT_WR);
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

  // The echo loop: every message goes back with the same type and payload, every ping is
  // answered with a pong carrying the same payload (§5.5.2), pongs are matched against our own
  // pings to log the round trip (§5.5.3), and a close frame ends it. Between events the loop
  // sleeps in poll() only until the heartbeat's next deadline: the next ping to send, the
  // moment a silent peer is declared dead, or the end of a started message's window (§10.4).
  void echo_messages() {
    while (true) {
      if (const auto ping = heartbeat_.ping_due(Clock::now())) {
        if (const IoStatus sent = send_frame(Opcode::kPing, *ping); sent != IoStatus::kOk) {
          log_write_failure(sent);
          return;
        }
      }
      MessageReader::Result result;
      const IoStatus status = next_event(result, heartbeat_.next_wakeup());
      if (status == IoStatus::kTimeout) {
        const auto now = Clock::now();
        if (heartbeat_.expired(now)) {
          // The peer is gone or hopelessly stuck: a close frame if its socket still takes one,
          // then TCP closes at once, without waiting for a reply that will not come.
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
      if (auto* message = std::get_if<Message>(&*result.event)) {
        if (options_.verbose) {
          log(std::string(message->type == Opcode::kText ? "echo text: " : "echo binary: ") +
              std::to_string(message->payload.size()) + " bytes");
        }
        sent = send_frame(message->type, message->payload);
      } else if (const auto* ping = std::get_if<Ping>(&*result.event)) {
        sent = send_frame(Opcode::kPong, ping->payload);
      } else if (const auto* pong = std::get_if<Pong>(&*result.event)) {
        if (const auto match = heartbeat_.match_pong(pong->payload, Clock::now())) {
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

  Fd socket_;
  std::uint64_t id_;
  const Options& options_;
  const StopSignal& stop_;
  MessageReader reader_;
  Heartbeat heartbeat_;
  std::string inbox_;  // bytes received; those before inbox_pos_ are consumed
  std::size_t inbox_pos_ = 0;
  bool closing_ = false;  // our close frame is out: only its reply (or the deadline) matters
};

}  // namespace

void serve_connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop) {
  Connection(std::move(socket), id, options, stop).run();
}

}  // namespace ws

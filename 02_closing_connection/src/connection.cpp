// One client connection: opening handshake (RFC 6455 §4.2), greetings, frames (§5), and the
// closing handshake in both directions (§5.5.1, §7).
#include "connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "close.hpp"
#include "frame.hpp"
#include "handshake.hpp"
#include "http.hpp"
#include "log.hpp"

namespace ws {

namespace {

class Connection {
 public:
  Connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop)
      : socket_(std::move(socket)), id_(id), options_(options), stop_(stop) {}

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
    if (greet()) {
      read_frames();
    }
  }

 private:
  void log(const std::string& text) const { log_line("#" + std::to_string(id_) + " " + text); }

  // Reads more bytes from the socket into inbox_. Once our close frame is out, a shutdown has
  // already been answered, so only the deadline may cut the wait for the peer's reply short.
  IoStatus fill(Deadline deadline) {
    // Not value-initialised on purpose: zeroing it would touch every page of this thread's stack
    // on each read, which costs CPU and keeps those pages resident for every idle connection.
    std::array<char, std::size_t{16} * 1024> chunk;
    std::size_t received = 0;
    const IoStatus status =
        read_some(socket_.get(), chunk, received, deadline, closing_ ? -1 : stop_.fd());
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

  bool send_text(std::string_view text) {
    // §5.1: a server MUST NOT mask the frames it sends.
    return write_all(socket_.get(), encode_frame(Opcode::kText, text)) == IoStatus::kOk;
  }

  bool greet() {
    const std::array<std::string, 3> greetings = {
        "Welcome to the WebSocket course, client #" + std::to_string(id_) + "!",
        "This greeting travels in an unmasked text frame: FIN=1, opcode=1 (text).",
        "Type a message and watch the server's terminal print it.",
    };
    const bool sent =
        std::all_of(greetings.begin(), greetings.end(),
                    [this](const std::string& greeting) { return send_text(greeting); });
    if (!sent) {
      log("closed 1006 (abnormal closure: write failed while greeting: " + error_text(errno) + ")");
    }
    return sent;
  }

  // Reads until the header, then the payload, of one frame are in inbox_. Returns kOk or why not.
  IoStatus receive_frame(FrameHeader& header, std::size_t& header_size, Deadline deadline) {
    while ((header_size = decode_frame_header(inbox_, header)) == 0) {
      if (const IoStatus status = fill(deadline); status != IoStatus::kOk) {
        return status;
      }
    }
    if (header.payload_length > kMaxFramePayload) {
      return IoStatus::kOk;  // judged by the caller before any payload is buffered
    }
    while (inbox_.size() < header_size + header.payload_length) {
      if (const IoStatus status = fill(deadline); status != IoStatus::kOk) {
        return status;
      }
    }
    return IoStatus::kOk;
  }

  // Takes the frame's payload out of inbox_, unmasked.
  std::string take_payload(const FrameHeader& header, std::size_t header_size) {
    std::string payload = inbox_.substr(header_size, header.payload_length);
    inbox_.erase(0, header_size + header.payload_length);
    apply_mask(payload, header.masking_key);
    return payload;
  }

  // The status to fail the connection with if this server cannot accept the frame, or nullopt.
  static std::optional<CloseStatus> check_frame(const FrameHeader& header) {
    const auto fail = [](CloseCode code, std::string reason) {
      return std::optional<CloseStatus>(make_close_status(code, std::move(reason)));
    };
    // §5.2: RSV bits must be 0 unless an extension defines them; we negotiate none.
    if (header.rsv1 || header.rsv2 || header.rsv3) {
      return fail(CloseCode::kProtocolError, "reserved bits set");
    }
    // §5.1: a server MUST close the connection upon receiving a frame that is not masked.
    if (!header.masked) {
      return fail(CloseCode::kProtocolError, "unmasked client frame");
    }
    if (header.payload_length > kMaxFramePayload) {
      return fail(CloseCode::kMessageTooBig, "frame payload over the limit");
    }
    switch (static_cast<Opcode>(header.opcode)) {
      case Opcode::kText:
      case Opcode::kBinary:
        if (!header.fin) {
          return fail(CloseCode::kUnsupportedData, "fragmented messages are not supported");
        }
        return std::nullopt;
      case Opcode::kClose:
        // §5.5: control frames are never fragmented and carry at most 125 bytes.
        if (!header.fin || header.payload_length > kMaxClosePayloadSize) {
          return fail(CloseCode::kProtocolError, "invalid close frame");
        }
        return std::nullopt;
      case Opcode::kContinuation:
        return fail(CloseCode::kUnsupportedData, "fragmented messages are not supported");
      case Opcode::kPing:
      case Opcode::kPong:
        return fail(CloseCode::kUnsupportedData, "ping/pong is not supported");
      default:
        // §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved.
        return fail(CloseCode::kProtocolError, "reserved opcode " + std::to_string(header.opcode));
    }
  }

  bool send_close(const CloseStatus& status) {
    return write_all(socket_.get(), encode_frame(Opcode::kClose, encode_close_payload(status))) ==
           IoStatus::kOk;
  }

  // The peer started the closing handshake (§7.1.2): answer with a close frame echoing its code
  // (§5.5.1), then close TCP at once: §7.1.1 says the server should be the first to close it.
  void answer_close(std::string_view payload) {
    const CloseParseResult parsed = parse_close_payload(payload);
    if (parsed.error) {
      // The close frame itself broke §5.5.1 (bad code, bad UTF-8, one byte): fail with 1002/1007.
      send_close(*parsed.error);
      log("closed " + describe(*parsed.error) + " (initiated by server: invalid close frame " +
          describe(parsed.received) + " from client)");
      return;
    }
    // Echo the code only; an empty close (1005, "no status") is answered with an empty close.
    send_close(CloseStatus{parsed.received.code, {}});
    log("closed " + describe(parsed.received) + " (initiated by client)");
  }

  // We start the closing handshake (§7.1.2): send our close frame, then wait up to
  // kCloseTimeout for the peer's close frame before closing TCP. Data frames that arrive in the
  // meantime are read and discarded (§1.4: after a close the other side's data no longer
  // matters). Reading them, rather than closing at once, keeps the kernel from answering
  // unread data with a reset, which can destroy our close frame before the peer reads it.
  void close(const CloseStatus& status) {
    closing_ = true;
    if (!send_close(status)) {
      log("closed " + describe(status) + " (initiated by server; the peer was already gone)");
      return;
    }
    const Deadline deadline = Clock::now() + kCloseTimeout;
    while (true) {
      FrameHeader header;
      std::size_t header_size = 0;
      const IoStatus io = receive_frame(header, header_size, deadline);
      if (io != IoStatus::kOk || check_frame(header)) {
        log("closed " + describe(status) + " (initiated by server; " +
            (io == IoStatus::kTimeout
                 ? "no close reply within " + std::to_string(kCloseTimeout.count()) + " s"
                 : std::string("no close reply")) +
            ")");
        return;
      }
      const std::string payload = take_payload(header, header_size);
      if (header.opcode == static_cast<std::uint8_t>(Opcode::kClose)) {
        log("closed " + describe(status) + " (initiated by server; client replied " +
            describe(parse_close_payload(payload).received) + ")");
        return;
      }
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

  void read_frames() {
    while (true) {
      FrameHeader header;
      std::size_t header_size = 0;
      const IoStatus status = receive_frame(header, header_size, kNoDeadline);
      if (status == IoStatus::kStopped) {
        // §7.4.1: 1001, "an endpoint is going away, such as a server going down".
        close(make_close_status(CloseCode::kGoingAway, "server shutting down"));
        return;
      }
      if (status != IoStatus::kOk) {
        log_abnormal_closure(status);
        return;
      }
      if (const auto failure = check_frame(header)) {
        close(*failure);
        return;
      }
      const std::string payload = take_payload(header, header_size);
      switch (static_cast<Opcode>(header.opcode)) {
        case Opcode::kText:
          log("received text: " + printable(payload));
          break;
        case Opcode::kBinary:
          log("received binary: " + std::to_string(payload.size()) + " bytes");
          break;
        default:  // kClose: the only other opcode check_frame() lets through
          answer_close(payload);
          return;
      }
    }
  }

  Fd socket_;
  std::uint64_t id_;
  const Options& options_;
  const StopSignal& stop_;
  std::string inbox_;     // bytes received and not yet consumed
  bool closing_ = false;  // our close frame is out: only its reply (or the deadline) matters
};

}  // namespace

void serve_connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop) {
  Connection(std::move(socket), id, options, stop).run();
}

}  // namespace ws

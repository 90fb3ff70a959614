// One client connection: opening handshake (RFC 6455 §4.2), greetings, then frames (§5).
#include "connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

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

  // Reads more bytes from the socket into inbox_.
  IoStatus fill(Deadline deadline) {
    // Not value-initialised on purpose: zeroing it would touch every page of this thread's stack
    // on each read, which costs CPU and keeps those pages resident for every idle connection.
    std::array<char, std::size_t{16} * 1024> chunk;
    std::size_t received = 0;
    const IoStatus status = read_some(socket_.get(), chunk, received, deadline, stop_.fd());
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
      log("write failed while greeting: " + error_text(errno));
    }
    return sent;
  }

  // Reads until the header, then the payload, of one frame are in inbox_. Returns kOk or why not.
  IoStatus receive_frame(FrameHeader& header, std::size_t& header_size) {
    while ((header_size = decode_frame_header(inbox_, header)) == 0) {
      if (const IoStatus status = fill(kNoDeadline); status != IoStatus::kOk) {
        return status;
      }
    }
    if (header.payload_length > kMaxFramePayload) {
      return IoStatus::kOk;  // judged by the caller before any payload is buffered
    }
    while (inbox_.size() < header_size + header.payload_length) {
      if (const IoStatus status = fill(kNoDeadline); status != IoStatus::kOk) {
        return status;
      }
    }
    return IoStatus::kOk;
  }

  // Names what this server cannot handle in a frame, or returns empty if the frame is fine.
  static std::string unsupported(const FrameHeader& header) {
    if (header.rsv1 || header.rsv2 || header.rsv3) {
      return "reserved bits set";
    }
    // §5.1: a server MUST close the connection upon receiving a frame that is not masked.
    if (!header.masked) {
      return "unmasked client frame";
    }
    if (!header.fin || header.opcode == static_cast<std::uint8_t>(Opcode::kContinuation)) {
      return "fragmented message";
    }
    if (header.payload_length > kMaxFramePayload) {
      return "payload of " + std::to_string(header.payload_length) + " bytes is over the limit";
    }
    switch (static_cast<Opcode>(header.opcode)) {
      case Opcode::kText:
      case Opcode::kBinary:
      case Opcode::kClose:
        return {};
      case Opcode::kPing:
      case Opcode::kPong:
        return "ping/pong frames";
      default:
        return "opcode " + std::to_string(header.opcode);
    }
  }

  void read_frames() {
    while (true) {
      FrameHeader header;
      std::size_t header_size = 0;
      const IoStatus status = receive_frame(header, header_size);
      if (status != IoStatus::kOk) {
        log_read_end(status, "while waiting for a frame");
        return;
      }
      if (const std::string problem = unsupported(header); !problem.empty()) {
        log("unsupported frame (" + problem + "): closing the connection");
        return;
      }
      std::string payload = inbox_.substr(header_size, header.payload_length);
      inbox_.erase(0, header_size + header.payload_length);
      apply_mask(payload, header.masking_key);

      switch (static_cast<Opcode>(header.opcode)) {
        case Opcode::kText:
          log("received text: " + printable(payload));
          break;
        case Opcode::kBinary:
          log("received binary: " + std::to_string(payload.size()) + " bytes");
          break;
        default:  // kClose: the only other opcode unsupported() lets through
          log("received a close frame: closing the TCP connection");
          return;
      }
    }
  }

  Fd socket_;
  std::uint64_t id_;
  const Options& options_;
  const StopSignal& stop_;
  std::string inbox_;  // bytes received and not yet consumed
};

}  // namespace

void serve_connection(Fd socket, std::uint64_t id, const Options& options, const StopSignal& stop) {
  Connection(std::move(socket), id, options, stop).run();
}

}  // namespace ws

// The WebSocket session: the chat loop (RFC 6455 §5), with its heartbeat (§5.5.2, §5.5.3) and
// egress queue, and the closing handshake in both directions (§5.5.1, §7).
#include "websocket_session.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "close.hpp"
#include "egress.hpp"
#include "event.hpp"
#include "event_handlers.hpp"
#include "frame.hpp"
#include "heartbeat.hpp"
#include "log.hpp"
#include "message.hpp"
#include "rate_limit.hpp"

namespace ws {

namespace {

class WebSocketSession {
 public:
  WebSocketSession(Transport transport, std::string received, std::uint64_t id,
                   const Options& options, const StopSignal& stop, ChatServices& services)
      : transport_(std::move(transport)),
        id_(id),
        options_(options),
        stop_(stop),
        services_(services),
        reader_(Role::kServer, Limits{options.max_message, options.max_message}),
        heartbeat_(options.ping_period, options.pong_wait, Clock::now()),
        rate_(options.rate_limit, 2 * options.rate_limit, Clock::now()),
        egress_(kEgressCapacity),
        inbox_(std::move(received)) {}

  // The chat loop. Besides the socket and the stop signal, the thread also sleeps on its egress
  // queue's eventfd: other connections hand it the frames of their broadcasts, and this thread,
  // the socket's only writer, sends them. Text messages are events, routed by type to a handler;
  // pings are answered, pongs, silence and unfinished messages feed the heartbeat, and closes are
  // handled as in any WebSocket connection. Each step returns false when the connection is over.
  void run(const std::string& username) {
    Member member{username, &egress_, {}, {}};
    // However the loop ends, the member leaves its room before `member` goes away.
    struct Leave {
      Manager& manager;
      Member& member;
      ~Leave() { manager.leave(member); }
    } leave{services_.manager, member};
    services_.manager.join(member, Manager::kDefaultRoom);
    log(username + " joined " + Manager::kDefaultRoom);
    const ChatContext chat{member, services_, rate_, options_, id_};

    bool open = true;
    while (open) {
      if (!send_due_ping()) {
        return;
      }
      MessageReader::Result result;
      switch (const IoStatus status = next_event(result, heartbeat_.next_wakeup()); status) {
        case IoStatus::kOk:
          open = handle(result, chat);
          break;
        case IoStatus::kWoken:
          open = flush_egress();
          break;
        case IoStatus::kTimeout:
          open = check_heartbeat();
          break;
        case IoStatus::kStopped:
          // §7.4.1: 1001, "an endpoint is going away, such as a server going down".
          close(make_close_status(CloseCode::kGoingAway, "server shutting down"));
          open = false;
          break;
        case IoStatus::kEof:
        case IoStatus::kError:
          log_abnormal_closure(status);
          open = false;
          break;
      }
    }
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

  IoStatus send_text(const std::string& text) { return send_frame(Opcode::kText, text); }

  bool send_close(const CloseStatus& status) {
    return send_frame(Opcode::kClose, encode_close_payload(status)) == IoStatus::kOk;
  }

  // Sends the heartbeat's ping when one is due (§5.5.2). False when the write failed.
  bool send_due_ping() {
    if (const auto ping = heartbeat_.ping_due(Clock::now())) {
      if (const IoStatus sent = send_frame(Opcode::kPing, *ping); sent != IoStatus::kOk) {
        log_write_failure(sent);
        return false;
      }
    }
    return true;
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

  // What the reader completed: a broken rule fails the connection; a text message is a chat
  // event; pings are answered, pongs feed the heartbeat, and a close frame ends the session.
  bool handle(const MessageReader::Result& result, const ChatContext& chat) {
    if (result.error) {
      // §7.1.7: fail the connection, with the code the broken rule calls for.
      close(*result.error);
      return false;
    }
    IoStatus sent = IoStatus::kOk;
    if (const auto* message = std::get_if<Message>(&*result.event)) {
      sent = on_message(*message, chat);
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
      return false;
    }
    if (sent != IoStatus::kOk) {
      log_write_failure(sent);
      return false;
    }
    return true;
  }

  // A whole message: the chat's events travel as text (event_handlers.hpp), which answers with an
  // event of its own when the sender needs one.
  IoStatus on_message(const Message& message, const ChatContext& chat) {
    if (message.type != Opcode::kText) {
      return send_text(error_event("binary messages are not part of the chat protocol"));
    }
    const auto reply = handle_event(message.payload, chat);
    return reply ? send_text(*reply) : IoStatus::kOk;
  }

  // The wait ended with nothing to read: time for the next ping, or the peer is dead or stuck in
  // a message. Returns false when it closed the connection.
  bool check_heartbeat() {
    const auto now = Clock::now();
    if (heartbeat_.expired(now)) {
      // §7.4.1: 1001 says that the endpoint *sending* it is "going away". No code means
      // "you stopped answering", and here the server is the one leaving this connection.
      log("heartbeat timeout: no sign of life within " + milliseconds(options_.pong_wait) +
          " of a ping");
      close(make_close_status(CloseCode::kGoingAway, "heartbeat timeout"), Clock::duration::zero());
      return false;
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
      return false;
    }
    return true;  // time for the next ping
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
  std::string inbox_;  // bytes received; those before inbox_pos_ are consumed
  std::size_t inbox_pos_ = 0;
  bool closing_ = false;  // our close frame is out: only its reply (or the deadline) matters
};

}  // namespace

void run_websocket_session(Transport transport, std::string received, std::uint64_t id,
                           const std::string& username, const Options& options,
                           const StopSignal& stop, ChatServices& services) {
  WebSocketSession(std::move(transport), std::move(received), id, options, stop, services)
      .run(username);
}

}  // namespace ws

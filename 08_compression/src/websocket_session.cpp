// The WebSocket session: the chat (RFC 6455 §5) with its heartbeat (§5.5.2, §5.5.3), and the
// closing handshake in both directions (§5.5.1, §7), its messages compressed when the client
// agreed to (RFC 7692). It reacts to what its connection reports: bytes, a timer, a broadcast,
// the shutdown.
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
#include "permessage_deflate.hpp"
#include "rate_limit.hpp"
#include "worker.hpp"

namespace ws {

namespace {

class WebSocketSession final : public Session {
 public:
  WebSocketSession(Connection& connection, const std::optional<std::string>& username,
                   const std::optional<DeflateAgreement>& compression)
      : connection_(connection),
        options_(connection.worker().options()),
        services_(connection.worker().services()),
        reader_(Role::kServer, Limits{options_.max_message, options_.max_message}),
        heartbeat_(options_.ping_period, options_.pong_wait, Clock::now()),
        rate_(options_.rate_limit, 2 * options_.rate_limit, Clock::now()) {
    int shared_deflate_bits = 0;
    if (compression) {
      deflate_ = compression->params;
      // §7.1.1.2, §7.1.2.2: the client compresses with at most its window, and starts every
      // message afresh if it agreed to client_no_context_takeover.
      reader_.accept_compressed(deflate_->client_max_window_bits,
                                deflate_->client_no_context_takeover);
      if (deflate_->server_no_context_takeover) {
        shared_deflate_bits = deflate_->server_max_window_bits;
      }
    }
    if (username) {
      member_.emplace(
          Member{*username, &connection.worker(), connection.id(), {}, {}, shared_deflate_bits});
      services_.manager.join(*member_, Manager::kDefaultRoom);
      log(*username + " joined " + Manager::kDefaultRoom);
    }
  }
  WebSocketSession(const WebSocketSession&) = delete;
  WebSocketSession& operator=(const WebSocketSession&) = delete;
  WebSocketSession(WebSocketSession&&) = delete;
  WebSocketSession& operator=(WebSocketSession&&) = delete;
  // However the session ends, the member leaves its room before it goes away.
  ~WebSocketSession() override {
    if (member_) {
      services_.manager.leave(*member_);
    }
  }

  // Bytes arrived: feed them to the reader, event by event. Text messages are chat events,
  // routed by type to a handler; pings are answered, pongs, silence and unfinished messages feed
  // the heartbeat, and closes are handled as in any WebSocket connection. Once our close frame
  // is out, only the peer's reply matters.
  void on_input() override {
    std::string& inbox = connection_.inbox();
    if (state_ == State::kDone || discarding_) {
      inbox.clear();  // §7.1.7: nothing more is processed from a failed connection
      return;
    }
    heartbeat_.on_activity();  // any bytes, even half a frame, prove the peer is alive
    std::size_t used = 0;
    while (used < inbox.size() && state_ != State::kDone && !discarding_) {
      const MessageReader::Result result = reader_.read(std::string_view(inbox).substr(used));
      used += result.consumed;
      heartbeat_.on_message_bytes(result.consumed, !reader_.between_messages(), Clock::now());
      if (!result.event && !result.error) {
        break;  // the rest of a frame is still on its way
      }
      if (state_ == State::kOpen) {
        handle(result);
      } else {
        handle_while_closing(result);
      }
    }
    inbox.erase(0, used);
    if (discarding_) {
      inbox.clear();
    }
  }

  // The TCP connection ended before the closing handshake did.
  void on_end(TryStatus status) override {
    if (state_ == State::kOpen) {
      // 1006 is what the peer's API reports for this; §7.4.1 forbids sending it, and there is
      // nobody left to send it to anyway.
      log("closed 1006 (abnormal closure: " +
          (status == TryStatus::kEof ? std::string("peer closed TCP without a close frame")
                                     : "connection error: " + error_text(errno)) +
          ")");
    } else if (state_ == State::kClosing) {
      log("closed " + describe(closing_status_) + " (initiated by server" +
          (discarding_ ? std::string(")") : "; no close reply)"));
    }
    state_ = State::kDone;
  }

  // Time for the next ping, or the peer is dead or stuck in a message, or our close frame has
  // waited long enough for its reply.
  void on_timer(Clock::time_point now) override {
    if (state_ == State::kClosing && now >= close_deadline_) {
      log("closed " + describe(closing_status_) + " (initiated by server" +
          (discarding_ ? std::string(")")
                       : "; no close reply within " + milliseconds(kCloseTimeout) + ")"));
      state_ = State::kDone;
      connection_.end();
      return;
    }
    if (state_ != State::kOpen) {
      return;
    }
    if (heartbeat_.expired(now)) {
      // §7.4.1: 1001 says that the endpoint *sending* it is "going away". No code means
      // "you stopped answering", and here the server is the one leaving this connection.
      log("heartbeat timeout: no sign of life within " + milliseconds(options_.pong_wait) +
          " of a ping");
      close(make_close_status(CloseCode::kGoingAway, "heartbeat timeout"), false);
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
      close(make_close_status(CloseCode::kPolicyViolation, "message too slow"), false);
      return;
    }
    // §5.5.2: a ping, when one is due.
    if (const auto ping = heartbeat_.ping_due(now)) {
      send_frame(Opcode::kPing, *ping);
    }
  }

  void on_stop() override {
    if (state_ == State::kOpen) {
      // §7.4.1: 1001, "an endpoint is going away, such as a server going down".
      close(make_close_status(CloseCode::kGoingAway, "server shutting down"), true);
    }
  }

  // A message from another connection's broadcast, already encoded: plain, compressed once for
  // everyone, or compressed here with this connection's own context.
  void on_frame(const Broadcast& broadcast) override {
    if (state_ != State::kOpen) {
      return;
    }
    SharedFrame frame = broadcast.plain;
    if (deflate_ && deflate_->server_no_context_takeover && broadcast.deflated) {
      frame = broadcast.deflated;
    } else if (deflate_) {
      FrameHeader header;
      const std::size_t header_size = decode_frame_header(*broadcast.plain, header);
      frame = std::make_shared<const std::string>(
          data_frame(static_cast<Opcode>(header.opcode),
                     std::string_view(*broadcast.plain).substr(header_size)));
    }
    if (!connection_.offer(std::move(frame))) {
      slow_consumer();
    }
  }

  // A frame could not be written for pong_wait: the peer stopped reading. No close frame can
  // get through, so TCP is simply closed.
  void on_write_stalled() override {
    if (state_ == State::kDone) {
      return;
    }
    log("closed 1006 (abnormal closure: the peer stopped reading: a write made no progress in " +
        milliseconds(options_.pong_wait) + ")");
    state_ = State::kDone;
  }

  [[nodiscard]] Deadline next_wakeup() const override {
    switch (state_) {
      case State::kOpen:
        return heartbeat_.next_wakeup();
      case State::kClosing:
        return close_deadline_;
      case State::kDone:
        break;
    }
    return kNoDeadline;
  }

  // The peer takes our bytes: a sign of life even while its pong waits behind them in its
  // socket, unread by us because we stopped reading until our backlog drains.
  void on_written() override { heartbeat_.on_activity(); }

  [[nodiscard]] Clock::duration write_patience() const override { return options_.pong_wait; }

 private:
  enum class State { kOpen, kClosing, kDone };

  void log(const std::string& text) const { connection_.log(text); }

  // Queues one unfragmented frame. §5.1: a server MUST NOT mask the frames it sends. Every frame
  // goes through the connection's one queue, so two frames can never interleave on the wire.
  // With compression agreed, data messages go compressed; control frames never are (RFC 7692 §6:
  // an extension compresses data messages only).
  void send_frame(Opcode opcode, std::string_view payload) {
    connection_.send(deflate_ && !is_control(opcode) ? data_frame(opcode, payload)
                                                     : encode_frame(opcode, payload));
  }

  // A data message for a client that agreed to compression: compressed, unless compressing on
  // its own made it bigger (random bytes do), when it may go as it is (§6: without RSV1 a
  // message is simply not compressed). With context takeover it is always compressed: the
  // client's window must hold every message our compressor has seen.
  std::string data_frame(Opcode opcode, std::string_view payload) {
    std::string compressed = compress(payload);
    if (deflate_->server_no_context_takeover && compressed.size() >= payload.size()) {
      return encode_frame(opcode, payload);
    }
    return encode_compressed_frame(opcode, compressed);
  }

  // A message's compressed payload (RFC 7692 §7.2.1), in the order the messages go out. On its
  // own when the client agreed to server_no_context_takeover: the thread's shared compressor
  // serves. Otherwise this connection's window carries over from message to message, so the
  // connection needs a compressor of its own, made when its first message goes out.
  std::string compress(std::string_view payload) {
    if (deflate_->server_no_context_takeover) {
      return compress_once(payload, deflate_->server_max_window_bits);
    }
    if (!deflater_) {
      deflater_.emplace(deflate_->server_max_window_bits, false);
    }
    return deflater_->compress(payload);
  }

  void send_text(const std::string& text) { send_frame(Opcode::kText, text); }

  // The client reads more slowly than its frames are produced: its queue is over the limit.
  void slow_consumer() {
    if (state_ != State::kOpen) {
      return;
    }
    log("slow consumer: more than " + std::to_string(kEgressLimit / 1024) +
        " KiB waiting; closing");
    // §7.4.1: 1008, a policy violation: we cannot keep a growing backlog for one reader.
    close(make_close_status(CloseCode::kPolicyViolation, "slow consumer"), false, true);
  }

  // What the reader completed: a broken rule fails the connection; a text message is a chat
  // event; pings are answered, pongs feed the heartbeat, and a close frame ends the session.
  void handle(const MessageReader::Result& result) {
    if (result.error) {
      // §7.1.7: fail the connection, with the code the broken rule calls for.
      close(*result.error, true);
      return;
    }
    if (const auto* message = std::get_if<Message>(&*result.event)) {
      on_message(*message);
    } else if (const auto* ping = std::get_if<Ping>(&*result.event)) {
      send_frame(Opcode::kPong, ping->payload);
    } else if (const auto* pong = std::get_if<Pong>(&*result.event)) {
      if (const auto match = heartbeat_.match_pong(pong->payload, Clock::now());
          match && options_.verbose) {
        log("pong " + std::to_string(match->sequence) + ": round trip " +
            microseconds(match->round_trip));
      }
    } else if (const auto* close_frame = std::get_if<Close>(&*result.event)) {
      answer_close(close_frame->status);
    }
  }

  // While our close frame waits for its reply (§1.4: after a close the other side's data no
  // longer matters), only the reply counts. A broken rule in the meantime is answered as §7.1.7
  // says: nothing more is processed, and the bytes are discarded until the peer closes.
  void handle_while_closing(const MessageReader::Result& result) {
    if (result.error) {
      discarding_ = true;
      return;
    }
    if (const auto* reply = std::get_if<Close>(&*result.event)) {
      log("closed " + describe(closing_status_) + " (initiated by server; client replied " +
          describe(reply->status) + ")");
      state_ = State::kDone;
      connection_.end_after_flush();
    }
  }

  // A whole message: the chat's events travel as text (event_handlers.hpp), which answers with an
  // event of its own when the sender needs one. The echo endpoint sends it back as it came.
  void on_message(const Message& message) {
    if (!member_) {
      send_frame(message.type, message.payload);
      return;
    }
    if (message.type != Opcode::kText) {
      send_text(error_event("binary messages are not part of the chat protocol"));
      return;
    }
    const ChatContext chat{*member_, services_, rate_, options_, connection_.id()};
    if (const auto reply = handle_event(message.payload, chat)) {
      send_text(*reply);
    }
  }

  // The peer started the closing handshake (§7.1.2) with a valid close frame (the reader has
  // checked its code and reason): answer with a close frame echoing its code (§5.5.1), then
  // close TCP once it is written: §7.1.1 says the server should be the first to close it.
  void answer_close(const CloseStatus& received) {
    // Echo the code only; an empty close (1005, "no status") is answered with an empty close.
    send_frame(Opcode::kClose, encode_close_payload(CloseStatus{received.code, {}}));
    log("closed " + describe(received) + " (initiated by client)");
    state_ = State::kDone;
    connection_.end_after_flush();
  }

  // We start the closing handshake (§7.1.2): queue our close frame, then, when `wait_for_reply`,
  // give the peer kCloseTimeout for its close frame before closing TCP. Data frames that arrive
  // in the meantime are read and discarded: reading them, rather than closing at once, keeps the
  // kernel from answering unread data with a reset, which can destroy our close frame before the
  // peer reads it. With `drop_backlog` (a slow consumer), the frames not yet started are dropped
  // first, so the close frame is next.
  void close(const CloseStatus& status, bool wait_for_reply, bool drop_backlog = false) {
    closing_status_ = status;
    state_ = State::kClosing;
    auto frame = std::make_shared<const std::string>(
        encode_frame(Opcode::kClose, encode_close_payload(status)));
    if (drop_backlog) {
      connection_.send_instead_of_backlog(std::move(frame));
    } else {
      connection_.send(std::move(frame));
    }
    // We will send nothing after our close frame, so a FIN may follow it right away: the peer
    // learns that TCP is ending as soon as it has read our close, and can still reply.
    connection_.shutdown_write_after_flush();
    if (!wait_for_reply) {
      // On purpose: the callers say why.
      log("closed " + describe(status) + " (initiated by server; did not wait for a close reply)");
      state_ = State::kDone;
      connection_.end_after_flush();
      return;
    }
    close_deadline_ = Clock::now() + kCloseTimeout;
  }

  static std::string milliseconds(Clock::duration duration) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()) +
           " ms";
  }

  static std::string microseconds(Clock::duration duration) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
    return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
  }

  Connection& connection_;
  const Options& options_;
  ChatServices& services_;
  std::optional<Member> member_;          // none: the echo endpoint
  std::optional<DeflateParams> deflate_;  // permessage-deflate, when the client agreed to it
  std::optional<Deflater> deflater_;      // with context takeover: this connection's compressor
  MessageReader reader_;
  Heartbeat heartbeat_;
  TokenBucket rate_;
  State state_ = State::kOpen;
  CloseStatus closing_status_{};  // what our close frame said, once sent
  Deadline close_deadline_ = kNoDeadline;
  bool discarding_ = false;  // the peer broke a rule while we closed: its bytes are dropped
};

}  // namespace

std::unique_ptr<Session> make_websocket_session(
    Connection& connection, const std::optional<std::string>& username,
    const std::optional<DeflateAgreement>& compression) {
  return std::make_unique<WebSocketSession>(connection, username, compression);
}

}  // namespace ws

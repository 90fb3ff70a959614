// The heartbeat of a connection (RFC 6455 §5.5.2-5.5.3) and the deadline of a started message
// (§10.4).
#include "heartbeat.hpp"

#include <algorithm>
#include <charconv>

namespace ws {

namespace {

// Ping payloads are "<sequence> <microseconds since the heartbeat started>": readable in a
// packet capture, and far below the 125-byte limit of a control frame (§5.5).
std::string make_payload(std::uint64_t sequence, std::chrono::microseconds sent) {
  return std::to_string(sequence) + " " + std::to_string(sent.count());
}

bool parse_payload(std::string_view payload, std::uint64_t& sequence, std::int64_t& sent) {
  const auto space = payload.find(' ');
  if (space == std::string_view::npos) {
    return false;
  }
  const auto* begin = payload.data();
  const auto* middle = begin + space;
  const auto* end = begin + payload.size();
  const auto first = std::from_chars(begin, middle, sequence);
  const auto second = std::from_chars(middle + 1, end, sent);
  return first.ec == std::errc() && first.ptr == middle && second.ec == std::errc() &&
         second.ptr == end;
}

}  // namespace

Heartbeat::Heartbeat(Clock::duration ping_period, Clock::duration pong_wait, Clock::time_point now)
    : ping_period_(ping_period),
      pong_wait_(pong_wait),
      next_ping_(now + ping_period),
      epoch_(now) {}

Heartbeat::Clock::time_point Heartbeat::next_wakeup() const {
  Clock::time_point wakeup = next_ping_;
  if (unanswered_since_) {
    wakeup = std::min(wakeup, *unanswered_since_ + pong_wait_);
  }
  if (window_opened_) {
    wakeup = std::min(wakeup, *window_opened_ + message_window());
  }
  return wakeup;
}

std::optional<std::string> Heartbeat::ping_due(Clock::time_point now) {
  if (now < next_ping_) {
    return std::nullopt;
  }
  next_ping_ = now + ping_period_;
  if (!unanswered_since_) {
    unanswered_since_ = now;  // a later ping does not move the deadline of an earlier one
  }
  ++sequence_;
  return make_payload(sequence_,
                      std::chrono::duration_cast<std::chrono::microseconds>(now - epoch_));
}

void Heartbeat::on_activity() { unanswered_since_.reset(); }

std::optional<Heartbeat::PongMatch> Heartbeat::match_pong(std::string_view payload,
                                                          Clock::time_point now) const {
  std::uint64_t sequence = 0;
  std::int64_t sent = 0;
  if (!parse_payload(payload, sequence, sent) || sequence == 0 || sequence > sequence_) {
    return std::nullopt;
  }
  const auto sent_at = epoch_ + std::chrono::microseconds(sent);
  if (sent_at > now) {
    return std::nullopt;
  }
  return PongMatch{sequence, now - sent_at};
}

bool Heartbeat::expired(Clock::time_point now) const {
  return unanswered_since_ && now >= *unanswered_since_ + pong_wait_;
}

void Heartbeat::on_message_bytes(std::size_t bytes, bool mid_message, Clock::time_point now) {
  if (!mid_message) {  // the message (or a lone control frame) is complete: no clock runs
    window_opened_.reset();
    window_bytes_ = 0;
    return;
  }
  if (!window_opened_) {  // the first byte of a frame or message
    window_opened_ = now;
    window_bytes_ = 0;
  }
  window_bytes_ += bytes;
  if (window_bytes_ >= kMessageProgressBytes) {  // enough progress: a fresh window from now
    window_opened_ = now;
    window_bytes_ = 0;
  }
}

bool Heartbeat::message_too_slow(Clock::time_point now) const {
  return window_opened_ && now >= *window_opened_ + message_window();
}

}  // namespace ws

// The heartbeat of a connection (RFC 6455 §5.5.2-5.5.3): when to send the next ping, when a
// peer that has not shown any sign of life since a ping must be considered dead, and when a
// message that the peer started is taking too long (§10.4). Pure logic on time points, with no
// clock and no socket, so the timeline can be tested step by step.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

/// The bytes a started message must deliver in each message window (2 x pong_wait) unless it
/// finishes first: 16 KiB, one full read of the connection's buffer.
///
/// Why these numbers. pong_wait is the operator's measure of how long a live peer may take (a
/// slow network's round trip plus a busy peer); a message gets one pong wait for the same
/// reasons, and a second one for its bytes. 16 KiB in one pong wait (10 s by default) is
/// 13 kbit/s, slower than any link still in use, so no honest sender runs into the rule: a chat
/// message (the chat's limit is 4 KiB) has 20 s to arrive whole, and a 16 MiB message (the
/// echo server's default limit) may take hours to arrive as long as it keeps moving at 16 KiB per
/// 20 s (0.8 KiB/s). A drip of a byte a second is 800 times too slow, and closed 2 x pong_wait
/// after its first byte. Apache's mod_reqtimeout (a body timeout extended per MinRate bytes) and
/// Warp's slowloris guard (the timeout is extended for every 2048 bytes) bound HTTP request bodies
/// the same way.
inline constexpr std::size_t kMessageProgressBytes = std::size_t{16} * 1024;

/// Decides when to ping, when to give up on a silent peer, and when a started message is too slow.
///
/// Timeline, with ping_period P and pong_wait W:
///
///     t0          t0+P            t0+P+W
///     |-----------|ping #1--------|  no sign of life since ping #1 by now: dead
///                 |    <- any frame from the peer here keeps it alive
///
/// Any bytes the peer sends count as a sign of life, not only a pong: a peer busy sending a
/// large message cannot answer our ping until its current frame is done, and it is clearly not
/// dead. Pings carry a sequence number and the time they were sent, so the pong that echoes one
/// tells the round-trip time.
///
/// Alive is not the same as useful: a peer can start a frame and then send one byte every
/// second, forever, and every byte is a sign of life (a slowloris inside a frame), while the
/// connection holds a thread and up to --max-message bytes. RFC 6455 sets no time limit on a
/// message, but §10.4 asks an implementation to protect itself from a peer that would "exhaust
/// its peer's memory or mount a denial-of-service attack" (its examples are sizes; a message
/// that never ends is the same attack, in time). So a second clock runs while a message is under
/// way, from the first byte of a frame (or of the first fragment of a message, §5.4) to the end
/// of the message:
///
///     first byte                 first byte + 2W
///     |--------------------------|  unfinished, and under 16 KiB since the window opened:
///                                   too slow
///     |---- 16 KiB more --|--------------------------|  a fresh window from there
///     |-- message complete: no clock runs --|
///
/// A message that finishes within one window never notices the rule; a longer one must keep
/// delivering kMessageProgressBytes per window. Control frames between fragments belong to the
/// message and do not restart its window.
class Heartbeat {
 public:
  using Clock = std::chrono::steady_clock;

  /// `ping_period`: time between pings. `pong_wait`: how long after a ping the peer has to show
  /// a sign of life. Both must be positive.
  Heartbeat(Clock::duration ping_period, Clock::duration pong_wait, Clock::time_point now);

  /// The next moment the connection loop must wake up for: the next ping, the deadline of the
  /// ping that is still unanswered, or the end of a started message's window, whichever comes
  /// first.
  [[nodiscard]] Clock::time_point next_wakeup() const;

  /// If a ping is due at `now`, returns the payload to send with it and records it as sent.
  std::optional<std::string> ping_due(Clock::time_point now);

  /// The peer sent something: it is alive, and no ping is outstanding any more.
  void on_activity();

  /// A pong arrived. If it echoes one of our pings, returns that ping's number and round-trip
  /// time; an unsolicited pong or a foreign payload gives nullopt (§5.5.3: ignored).
  struct PongMatch {
    std::uint64_t sequence;
    Clock::duration round_trip;
  };
  [[nodiscard]] std::optional<PongMatch> match_pong(std::string_view payload,
                                                    Clock::time_point now) const;

  /// True when a ping has gone without any sign of life for longer than pong_wait.
  [[nodiscard]] bool expired(Clock::time_point now) const;

  /// The connection's message reader took `bytes` more bytes, and `mid_message` says whether it
  /// is now inside a frame or a fragmented message (MessageReader::between_messages() is false).
  /// The first such bytes open the message window; kMessageProgressBytes open a fresh one; the
  /// end of the message (or of a control frame outside one) closes it.
  void on_message_bytes(std::size_t bytes, bool mid_message, Clock::time_point now);

  /// True when a started message has neither finished nor delivered kMessageProgressBytes within
  /// message_window() of the window's opening.
  [[nodiscard]] bool message_too_slow(Clock::time_point now) const;

  /// How long a started message has to finish, or to deliver kMessageProgressBytes: 2 x pong_wait.
  [[nodiscard]] Clock::duration message_window() const { return 2 * pong_wait_; }

 private:
  Clock::duration ping_period_;
  Clock::duration pong_wait_;
  Clock::time_point next_ping_;
  std::optional<Clock::time_point> unanswered_since_;  // when the oldest unanswered ping left
  std::optional<Clock::time_point> window_opened_;     // set while a message is under way
  std::size_t window_bytes_ = 0;                       // received since window_opened_
  std::uint64_t sequence_ = 0;
  Clock::time_point epoch_;  // ping payloads carry times relative to this
};

}  // namespace ws

// The heartbeat of a connection (RFC 6455 §5.5.2-5.5.3): when to send the next ping, and when a
// peer that has not shown any sign of life since a ping must be considered dead. Pure logic on
// time points, with no clock and no socket, so the timeline can be tested step by step.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

/// Decides when to ping and when to give up on a silent peer.
///
/// Timeline, with ping_period P and pong_wait W:
///
///     t0          t0+P            t0+P+W
///     |-----------|ping #1--------|  no sign of life since ping #1 by now: dead
///                 |    <- any frame from the peer here keeps it alive
///
/// Any frame the peer sends counts as a sign of life, not only a pong: a peer busy sending a
/// large message cannot answer our ping until its current frame is done, and it is clearly not
/// dead. Pings carry a sequence number and the time they were sent, so the pong that echoes one
/// tells the round-trip time.
class Heartbeat {
 public:
  using Clock = std::chrono::steady_clock;

  /// `ping_period`: time between pings. `pong_wait`: how long after a ping the peer has to show
  /// a sign of life. Both must be positive.
  Heartbeat(Clock::duration ping_period, Clock::duration pong_wait, Clock::time_point now);

  /// The next moment the connection loop must wake up for: the next ping, or the deadline of the
  /// ping that is still unanswered, whichever comes first.
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

 private:
  Clock::duration ping_period_;
  Clock::duration pong_wait_;
  Clock::time_point next_ping_;
  std::optional<Clock::time_point> unanswered_since_;  // when the oldest unanswered ping left
  std::uint64_t sequence_ = 0;
  Clock::time_point epoch_;  // ping payloads carry times relative to this
};

}  // namespace ws

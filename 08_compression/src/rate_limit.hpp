// A token bucket: the per-client limit on chat messages. A client may send a burst, then only
// at the refill rate; what goes over is refused with an `error` event, not a disconnect.
#pragma once

#include <algorithm>
#include <chrono>

namespace ws {

/// Allows `rate` events per second on average and bursts of up to `burst`. A rate of 0 disables
/// the limit. Not thread-safe: each connection owns its own bucket.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  /// Takes one token if there is one. Returns false when the client is over its limit.
  bool take(Clock::time_point now) {
    if (rate_ <= 0) {
      return true;
    }
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    if (tokens_ < 1) {
      return false;
    }
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace ws

// Log-linear latency buckets and their percentiles.
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ws::bench {

// Index layout: values below 2^7 map to themselves; above, a value whose highest set bit is bit
// 7 + s maps to bucket (s + 1) * 128 + (its 7 bits after the highest one).
std::size_t Histogram::index_of(std::uint64_t value) {
  constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;
  if (value < kSubCount) {
    return static_cast<std::size_t>(value);
  }
  const int highest = 63 - std::countl_zero(value);
  const int shift = highest - kSubBits;
  const std::uint64_t sub = (value >> shift) & (kSubCount - 1);
  return std::min(kBuckets - 1, (static_cast<std::size_t>(shift + 1) << kSubBits) +
                                    static_cast<std::size_t>(sub));
}

// The middle of the bucket's range, so a percentile is off by at most half a bucket.
std::uint64_t Histogram::value_of(std::size_t index) {
  constexpr std::size_t kSubCount = std::size_t{1} << kSubBits;
  if (index < kSubCount) {
    return index;
  }
  const std::size_t shift = (index >> kSubBits) - 1;
  const std::uint64_t sub = index & (kSubCount - 1);
  const std::uint64_t low = (kSubCount + sub) << shift;
  return low + ((std::uint64_t{1} << shift) >> 1);
}

void Histogram::record(std::int64_t nanoseconds) {
  const std::uint64_t value = nanoseconds < 0 ? 0 : static_cast<std::uint64_t>(nanoseconds);
  ++buckets_[index_of(value)];
  ++count_;
  max_ = std::max(max_, static_cast<std::int64_t>(value));
  sum_ += static_cast<double>(value);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

std::int64_t Histogram::percentile(double fraction) const {
  if (count_ == 0) {
    return 0;
  }
  const auto wanted = static_cast<std::uint64_t>(
      std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) {
      return std::min(static_cast<std::int64_t>(value_of(i)), max_);
    }
  }
  return max_;
}

double Histogram::mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

void Histogram::clear() { *this = Histogram{}; }

}  // namespace ws::bench

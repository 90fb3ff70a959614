// A latency histogram with log-linear buckets: constant memory whatever the number of samples,
// percentiles within 1% of the exact value. The idea of HdrHistogram, in a page.
#pragma once

#include <array>
#include <cstdint>

namespace ws::bench {

/// Counts durations in nanoseconds. Each power of two is split into 128 buckets, so a recorded
/// value is known to within 1/128 of itself; values below 128 ns are exact.
class Histogram {
 public:
  /// Adds one sample. Negative values (a clock that went backwards) count as zero.
  void record(std::int64_t nanoseconds);

  /// Adds every sample of `other`.
  void merge(const Histogram& other);

  /// The value below which `fraction` (0 to 1) of the samples lie, in nanoseconds; 0 if empty.
  [[nodiscard]] std::int64_t percentile(double fraction) const;

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::int64_t max() const { return max_; }
  /// The mean in nanoseconds; 0 if empty.
  [[nodiscard]] double mean() const;

  /// Forgets every sample (the end of a warm-up).
  void clear();

 private:
  static constexpr int kSubBits = 7;
  static constexpr std::size_t kBuckets = std::size_t{64 - kSubBits} << kSubBits;

  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t value_of(std::size_t index);

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace ws::bench

// A small log-linear latency histogram with HdrHistogram semantics: values (microseconds) are
// counted in buckets whose width is at most 1/128 of their value (< 0.8 % error, 2 significant
// digits), values below 256 exactly. Percentiles report the highest value equivalent to the
// bucket that holds the requested rank (as HdrHistogram's getValueAtPercentile does), so they
// never understate a latency. One histogram per thread, merged at the end: no locks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cmr_bench {

class Histogram {
 public:
  // Values above `highest` (default 2^36 us, ~19 h) are clamped to it and counted.
  explicit Histogram(int64_t highest = int64_t{1} << 36);

  void record(int64_t value);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const;
  // `percentile` in [0, 100]. 0 for an empty histogram.
  int64_t value_at_percentile(double percentile) const;

  // HdrHistogram-style percentile distribution ("Value Percentile TotalCount 1/(1-Percentile)"),
  // values divided by `scale` (1000 = milliseconds), `ticks_per_half` lines per halving.
  std::string percentile_distribution(double scale, int ticks_per_half = 5) const;

  // Bucket arithmetic, exposed for the self-test.
  static int index_of(int64_t value);
  static int64_t lowest_equivalent(int index);
  static int64_t highest_equivalent(int index);

 private:
  std::vector<uint64_t> counts_;
  int64_t highest_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace cmr_bench

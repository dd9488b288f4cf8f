#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace cmr_bench {
namespace {

constexpr int kSubBits = 8;                    // 256 linear buckets below 256
constexpr int64_t kSubCount = 1 << kSubBits;   // 256
constexpr int64_t kHalfCount = kSubCount / 2;  // 128 buckets per power of two above
constexpr int kMaxShift = 64 - kSubBits;       // enough for any int64
constexpr int kBuckets = kSubCount + kMaxShift * kHalfCount;

}  // namespace

int Histogram::index_of(int64_t value) {
  if (value < kSubCount)
    return static_cast<int>(std::max<int64_t>(value, 0));
  const int msb = 63 - std::countl_zero(static_cast<uint64_t>(value));  // >= kSubBits
  const int shift = msb - (kSubBits - 1);                               // >= 1
  const int64_t sub = value >> shift;                                   // [128, 255]
  return static_cast<int>(kSubCount + (shift - 1) * kHalfCount + (sub - kHalfCount));
}

int64_t Histogram::lowest_equivalent(int index) {
  if (index < kSubCount)
    return index;
  const int shift = (index - kSubCount) / kHalfCount + 1;
  const int64_t sub = (index - kSubCount) % kHalfCount + kHalfCount;
  return sub << shift;
}

int64_t Histogram::highest_equivalent(int index) {
  if (index < kSubCount)
    return index;
  const int shift = (index - kSubCount) / kHalfCount + 1;
  return lowest_equivalent(index) + (int64_t{1} << shift) - 1;
}

Histogram::Histogram(int64_t highest)
    : counts_(static_cast<std::size_t>(index_of(highest) + 1), 0), highest_(highest) {
  (void)kBuckets;
}

void Histogram::record(int64_t value) {
  value = std::clamp<int64_t>(value, 0, highest_);
  ++counts_[static_cast<std::size_t>(index_of(value))];
  if (count_ == 0 || value < min_)
    min_ = value;
  max_ = std::max(max_, value);
  sum_ += value;
  ++count_;
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0)
    return;
  if (other.counts_.size() > counts_.size())
    counts_.resize(other.counts_.size(), 0);
  for (std::size_t i = 0; i < other.counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
  highest_ = std::max(highest_, other.highest_);
}

double Histogram::mean() const {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

int64_t Histogram::value_at_percentile(double percentile) const {
  if (count_ == 0)
    return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // Rank of the requested value: at least 1, at most count (p100 = max).
  auto rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(highest_equivalent(static_cast<int>(i)), max_);
  }
  return max_;
}

std::string Histogram::percentile_distribution(double scale, int ticks_per_half) const {
  std::string out = "# Value Percentile TotalCount 1/(1-Percentile)\n";
  if (count_ == 0)
    return out;
  char line[128];
  // HdrHistogram's iteration: percentile steps halve the remaining distance to 100 %.
  double percentile = 0.0;
  for (int half = 0; half < 40; ++half) {
    const double remaining = 100.0 / std::pow(2.0, half);
    const double step = remaining / 2.0 / ticks_per_half;
    for (int t = 0; t < ticks_per_half; ++t) {
      const int64_t value = value_at_percentile(percentile);
      const auto rank = static_cast<uint64_t>(
          std::clamp(std::ceil(percentile / 100.0 * static_cast<double>(count_)), 1.0,
                     static_cast<double>(count_)));
      const double inverse = percentile >= 100.0 ? 0.0 : 1.0 / (1.0 - percentile / 100.0);
      std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu %14.2f\n",
                    static_cast<double>(value) / scale, percentile / 100.0,
                    static_cast<unsigned long long>(rank), inverse);
      out += line;
      percentile += step;
    }
    if (static_cast<double>(count_) * remaining / 100.0 < 1.0)
      break;
  }
  std::snprintf(line, sizeof line, "%12.3f %2.12f %10llu %14s\n", static_cast<double>(max_) / scale,
                1.0, static_cast<unsigned long long>(count_), "inf");
  out += line;
  return out;
}

}  // namespace cmr_bench

// prescient/policy/detail/frequency_sketch.hpp — TinyLFU's approximate frequency
// histogram: a 4-bit count-min sketch behind a doorkeeper, aged by periodic halving.
//
// Gil Einziger, Roy Friedman, Ben Manes, "TinyLFU: A Highly Efficient Cache Admission
// Policy", ACM Transactions on Storage 13(4), 2017. Layout after Caffeine's
// FrequencySketch (2.x), with the paper's minimal-increment update and doorkeeper.
//
// What it answers: "about how many times was this key requested in the recent past?",
// for every key ever seen, in a few bytes per *cache entry* (not per key seen). W-TinyLFU
// compares two such estimates to decide whether a newcomer may replace an old entry.
//
// Layout (n = `entries`, the number of cache entries the sketch is sized for):
//
//   table_   2^⌈log₂ n⌉ words of 64 bits; a word holds 16 counters of 4 bits, seen as
//            four groups of four: [g0: c0 c1 c2 c3 | g1: c4 … | g2 | g3: … c15]
//   door_    a Bloom filter of 2^⌈log₂ W⌉ bits (W = sample size, below), 3 probes
//
// A key hash h picks one group g = h >> 62 (the same in every word it touches) and, for
// each of the d = 4 rows i, one word index_i(h) (a different multiplicative hash per
// row); its i-th counter is nibble 4g + i of word index_i(h). So each row is a count-min
// row of w = 4 × words ≥ 4n counters, and a key's four counters sit in four words.
//
// increment(h): if the doorkeeper does not contain h, set its bits and stop (the first
// occurrence of a key in a sample period costs no counter: most keys are one-hit
// wonders, so the counters are left to keys seen twice). Otherwise add one to the
// *smallest* of h's four counters only (the paper's "minimal increment", which never
// makes an estimate worse and keeps hot keys from inflating cold ones), saturating at 15.
//
// frequency(h) = min of the four counters + (1 if the doorkeeper contains h): at most 16.
//
// Aging ("reset"): after W = sample_factor × n increments (W = 10n by default, the paper's
// W/C = 10), every counter is halved (a shift and a mask per word: no per-counter loop),
// the doorkeeper is cleared and the sample count halved. Old popularity therefore decays
// geometrically and the sketch follows a shifting workload; it is also what keeps 4 bits
// enough: with W/C = 10, a key that fits in the cache is seen ≲ 10 times per period.
//
// Error: count-min with width w and depth d over a stream of N increments overestimates a
// key by more than e·N/w with probability at most e^(−d) [Cormode & Muthukrishnan 2005].
// Here N ≤ W = 10n, w ≥ 4n and d = 4: the overestimate exceeds e·10/4 ≈ 6.8 with
// probability ≤ e^(−4) ≈ 1.8%, and the bound is loose: the doorkeeper keeps one-hit keys
// out of N, minimal increment lowers the error further, and skewed (Zipf) workloads see
// much smaller errors. It never underestimates (except by the saturation at 15 and the
// halving, which apply to all keys alike). The doorkeeper adds false positives (at most
// +1) at a rate of (1 − e^(−3k/m))³ for k distinct keys in a period and m bits — under 5%
// while k ≤ m/4.
//
// Cost: increment and frequency are O(1): four words and three bits. Memory: 8 bytes per
// power-of-two-rounded entry for the counters (8–16 bytes per entry), plus the doorkeeper,
// W bits rounded up (10–20 bits = 1.25–2.5 bytes per entry by default). Aging is O(n)
// every W/2 increments, so O(1) amortised.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace prescient::policy::detail {

class frequency_sketch {
 public:
  static constexpr std::uint32_t max_counter = 15;

  frequency_sketch() { resize(16); }
  /// Sized for `entries` cache entries; ages every `sample_factor × entries` increments.
  explicit frequency_sketch(std::size_t entries, std::uint64_t sample_factor = 10, bool doorkeeper = true)
      : sample_factor_(std::max<std::uint64_t>(sample_factor, 1)), use_door_(doorkeeper) {
    resize(entries);
  }

  /// Resizes for `entries` entries (forgetting all counts) if that needs a larger table.
  void ensure_capacity(std::size_t entries) {
    if (std::bit_ceil(std::max<std::size_t>(entries, 16)) > table_.size()) resize(entries);
  }

  /// Records one occurrence of `h`.
  void increment(std::uint64_t h) {
    if (++samples_ >= sample_size_) {
      record(h);
      age();
      return;
    }
    record(h);
  }

  /// Estimated occurrences of `h` in the recent past, 0 … 16.
  [[nodiscard]] std::uint32_t frequency(std::uint64_t h) const {
    const unsigned g = group(h);
    std::uint32_t m = max_counter;
    for (unsigned i = 0; i < 4; ++i) m = std::min(m, counter(index(h, i), 4 * g + i));
    return m + (use_door_ && door_contains(h) ? 1u : 0u);
  }

  /// Halves every counter and clears the doorkeeper (done automatically every W).
  void age() {
    for (auto& w : table_) w = (w >> 1) & 0x7777777777777777ULL;
    std::fill(door_.begin(), door_.end(), 0);
    samples_ /= 2;
  }

  void clear() {
    std::fill(table_.begin(), table_.end(), 0);
    std::fill(door_.begin(), door_.end(), 0);
    samples_ = 0;
  }

  [[nodiscard]] std::size_t entries() const { return entries_; }
  [[nodiscard]] std::uint64_t sample_size() const { return sample_size_; }
  [[nodiscard]] std::uint64_t samples() const { return samples_; }
  [[nodiscard]] std::size_t memory_bytes() const { return (table_.size() + door_.size()) * sizeof(std::uint64_t); }

 private:
  static constexpr std::uint64_t seeds[4] = {0xc3a5c85c97cb3127ULL, 0xb492b66fbe98f273ULL,
                                             0x9ae16a3b2f90404fULL, 0xcbf29ce484222325ULL};

  void resize(std::size_t entries) {
    entries_ = std::max<std::size_t>(entries, 1);
    const std::size_t words = std::bit_ceil(std::max<std::size_t>(entries_, 16));
    table_.assign(words, 0);
    sample_size_ = sample_factor_ * entries_;
    const std::uint64_t bits = std::bit_ceil(std::max<std::uint64_t>(sample_size_, 64));
    door_.assign(use_door_ ? bits / 64 : 0, 0);
    samples_ = 0;
  }

  static unsigned group(std::uint64_t h) { return static_cast<unsigned>(h >> 62); }
  [[nodiscard]] std::size_t index(std::uint64_t h, unsigned i) const {
    std::uint64_t x = (h + seeds[i]) * seeds[i];
    x += x >> 32;
    return static_cast<std::size_t>(x) & (table_.size() - 1);
  }
  [[nodiscard]] std::uint32_t counter(std::size_t word, unsigned nibble) const {
    return static_cast<std::uint32_t>((table_[word] >> (nibble * 4)) & 0xf);
  }

  void record(std::uint64_t h) {
    if (use_door_ && !door_test_and_set(h)) return;
    const unsigned g = group(h);
    std::size_t idx[4];
    std::uint32_t c[4];
    std::uint32_t m = max_counter;
    for (unsigned i = 0; i < 4; ++i) {
      idx[i] = index(h, i);
      c[i] = counter(idx[i], 4 * g + i);
      m = std::min(m, c[i]);
    }
    if (m == max_counter) return;
    for (unsigned i = 0; i < 4; ++i) {
      if (c[i] == m) table_[idx[i]] += std::uint64_t{1} << ((4 * g + i) * 4);
    }
  }

  // Doorkeeper probes: double hashing on two halves of a remixed hash.
  [[nodiscard]] std::uint64_t door_bit(std::uint64_t h, unsigned j) const {
    const std::uint64_t a = h * 0x9e3779b97f4a7c15ULL;
    const std::uint64_t b = (std::rotl(h, 32) * 0xff51afd7ed558ccdULL) | 1;
    return (a + j * b) >> 7 & (door_.size() * 64 - 1);
  }
  [[nodiscard]] bool door_contains(std::uint64_t h) const {
    for (unsigned j = 0; j < 3; ++j) {
      const std::uint64_t bit = door_bit(h, j);
      if ((door_[bit >> 6] & (std::uint64_t{1} << (bit & 63))) == 0) return false;
    }
    return true;
  }
  // Sets h's bits; returns whether all were already set.
  bool door_test_and_set(std::uint64_t h) {
    bool present = true;
    for (unsigned j = 0; j < 3; ++j) {
      const std::uint64_t bit = door_bit(h, j);
      std::uint64_t& word = door_[bit >> 6];
      const std::uint64_t mask = std::uint64_t{1} << (bit & 63);
      if ((word & mask) == 0) {
        present = false;
        word |= mask;
      }
    }
    return present;
  }

  std::vector<std::uint64_t> table_;
  std::vector<std::uint64_t> door_;
  std::size_t entries_ = 16;
  std::uint64_t sample_factor_ = 10;
  std::uint64_t sample_size_ = 160;
  std::uint64_t samples_ = 0;
  bool use_door_ = true;
};

}  // namespace prescient::policy::detail

// prescient/sim/stream.hpp — one read of a trace, in batches, fed to every replay at once.
//
//   stream(read, sinks, {.threads = 2});
//
// The calling thread reads: `read(batch)` fills a batch (decoding, decompressing, and
// whatever else the caller does per batch) and returns how many requests it wrote, 0 at
// the end. Each batch then goes to every sink (a replay, the miniature simulation...),
// in the trace's order, on a pool of `threads` workers; reading goes on meanwhile. A
// sink is fed by one worker at a time, so it needs no lock; a worker keeps feeding the
// sink it fed last while that sink has batches waiting (its cache stays warm), and
// otherwise takes the sink furthest behind. The batches live in a ring of `ring` slots
// reused in turn: a slot is refilled once every sink has had it, so the reader waits for
// the slowest sink and memory is `ring x batch` requests, whatever the trace's length.
//
// The first exception, from the reader or from a sink, stops the stream (the reader
// stops reading, the workers stop feeding) and is rethrown to the caller once every
// worker has stopped.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "prescient/trace/request.hpp"

namespace prescient::sim {

struct stream_options {
  unsigned threads = 1;               ///< workers feeding the sinks (the reader is one more thread)
  std::size_t batch = std::size_t{1} << 15;  ///< requests per batch (32 KiB x 32 bytes = 1 MiB)
  std::size_t ring = 6;               ///< batches in memory at once
};

/// A sink: fed the trace's batches, in order.
using batch_sink = std::function<void(std::span<const trace::request>)>;

struct stream_figures {
  std::uint64_t requests = 0;   ///< requests read
  double read_seconds = 0;      ///< time inside `read` (decoding and the caller's per-batch work)
  double wait_seconds = 0;      ///< time the reader waited for a free slot (the sinks were slower)
};

namespace detail {

class batch_ring {
 public:
  batch_ring(std::size_t sinks, const stream_options& opt)
      : slots_(opt.ring, std::vector<trace::request>(opt.batch)), sizes_(opt.ring, 0), fed_(sinks, 0),
        busy_(sinks, false) {}

  // --- the reader ---
  /// Waits for the slot of batch `produced_` to be free; nullptr if the stream stopped.
  std::span<trace::request> free_slot() {
    std::unique_lock lock(m_);
    reader_cv_.wait(lock, [&] { return failed_ || produced_ < slowest() + slots_.size(); });
    if (failed_) return {};
    return slots_[produced_ % slots_.size()];
  }
  /// Publishes the batch written in the slot free_slot() gave (n requests; 0: the end).
  void publish(std::size_t n) {
    {
      std::lock_guard lock(m_);
      if (n == 0) {
        done_ = true;
      } else {
        sizes_[produced_ % slots_.size()] = n;
        ++produced_;
      }
    }
    worker_cv_.notify_all();
  }

  // --- the workers ---
  template <class Feed>
  void work(Feed&& feed) {
    std::unique_lock lock(m_);
    std::size_t last = fed_.size();  // the sink this worker fed last
    while (true) {
      std::size_t j = fed_.size();
      worker_cv_.wait(lock, [&] {
        if (failed_) return true;
        j = pick(last);
        return j != fed_.size() || (done_ && all_idle_or_fed());
      });
      if (failed_ || j == fed_.size()) return;
      busy_[j] = true;
      last = j;
      while (!failed_ && fed_[j] < produced_) {
        const std::size_t slot = fed_[j] % slots_.size();
        const std::span<const trace::request> batch(slots_[slot].data(), sizes_[slot]);
        lock.unlock();
        try {
          feed(j, batch);
        } catch (...) {
          lock.lock();
          fail(std::current_exception());
          break;
        }
        lock.lock();
        const bool was_slowest = fed_[j] == slowest();
        ++fed_[j];
        if (was_slowest) reader_cv_.notify_one();
      }
      busy_[j] = false;
      worker_cv_.notify_all();  // the sink is free for another worker
    }
  }

  /// Stops the stream with this error (the first one is kept).
  void fail(std::exception_ptr e) {
    if (!error_) error_ = std::move(e);
    failed_ = true;
    reader_cv_.notify_all();
    worker_cv_.notify_all();
  }
  void fail_locked(std::exception_ptr e) {
    std::lock_guard lock(m_);
    fail(std::move(e));
  }
  [[nodiscard]] std::exception_ptr error() const { return error_; }

 private:
  [[nodiscard]] std::uint64_t slowest() const {
    std::uint64_t s = std::numeric_limits<std::uint64_t>::max();
    for (auto f : fed_) s = std::min(s, f);
    return fed_.empty() ? produced_ : s;
  }
  // The sink to feed next: `last` if it has a batch waiting, else the free sink furthest
  // behind with one; fed_.size() if none.
  [[nodiscard]] std::size_t pick(std::size_t last) const {
    if (last < fed_.size() && !busy_[last] && fed_[last] < produced_) return last;
    std::size_t best = fed_.size();
    for (std::size_t j = 0; j < fed_.size(); ++j)
      if (!busy_[j] && fed_[j] < produced_ && (best == fed_.size() || fed_[j] < fed_[best])) best = j;
    return best;
  }
  // At the end of the trace a worker may leave once no free sink has a batch waiting.
  [[nodiscard]] bool all_idle_or_fed() const {
    for (std::size_t j = 0; j < fed_.size(); ++j)
      if (!busy_[j] && fed_[j] < produced_) return false;
    return true;
  }

  std::mutex m_;
  std::condition_variable reader_cv_, worker_cv_;
  std::vector<std::vector<trace::request>> slots_;
  std::vector<std::size_t> sizes_;
  std::uint64_t produced_ = 0;      // batches published
  std::vector<std::uint64_t> fed_;  // batches each sink has been fed
  std::vector<bool> busy_;          // a worker is feeding the sink
  bool done_ = false;
  bool failed_ = false;
  std::exception_ptr error_;
};

}  // namespace detail

/// Reads the trace once through `read` and feeds every batch to every sink (see the
/// header comment). Returns what the reader did; rethrows the first error.
template <class Read>
stream_figures stream(Read&& read, std::span<const batch_sink> sinks, const stream_options& opt) {
  detail::batch_ring ring(sinks.size(), opt);
  std::vector<std::thread> workers;
  const unsigned n_workers = static_cast<unsigned>(std::min<std::size_t>(std::max(1u, opt.threads), sinks.size()));
  for (unsigned w = 0; w < n_workers; ++w)
    workers.emplace_back([&] { ring.work([&](std::size_t j, std::span<const trace::request> b) { sinks[j](b); }); });

  stream_figures fig;
  using clock = std::chrono::steady_clock;
  try {
    while (true) {
      const auto t0 = clock::now();
      const std::span<trace::request> slot = ring.free_slot();
      const auto t1 = clock::now();
      fig.wait_seconds += std::chrono::duration<double>(t1 - t0).count();
      if (slot.empty()) break;  // a sink failed
      const std::size_t n = read(slot);
      fig.read_seconds += std::chrono::duration<double>(clock::now() - t1).count();
      fig.requests += n;
      ring.publish(n);
      if (n == 0) break;
    }
  } catch (...) {
    ring.fail_locked(std::current_exception());
  }
  for (auto& w : workers) w.join();
  if (auto e = ring.error()) std::rethrow_exception(e);
  return fig;
}

}  // namespace prescient::sim

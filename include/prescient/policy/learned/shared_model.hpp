// prescient/policy/learned/shared_model.hpp — the learned policy inside a
// concurrent_cache: what its shards share.
//
// A concurrent_cache is S shards, each a cache with its own learned policy: its own
// per-key histories, candidates, panel and referee, all in its own shard's logical time
// (the shard's request counter). What is shared is learned from all of them at once:
//
//   learned_stats += learned_stats    whole-cache statistics (concurrent_cache::policy_stats)
//
// Training never runs on a host's request thread in a concurrent_cache: a policy left
// at `training_mode::synchronous` (the default, right for the simulator and the tests)
// trains in the background there; `off` stays off.
//
// A learned policy that could never train — no `trainer` given and no default trainer
// for its predictor (compiled_forest's is in learn/forest_trainer.hpp) — is refused at
// construction with config_error, unless its mode is `off` (a fixed model).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prescient/policy/learned/config.hpp"
#include "prescient/policy/learned/stats.hpp"

namespace prescient::policy {

/// Adds `b`'s counters to `a`'s (whole-cache statistics from the shards'). What is not a
/// count: `model_active` is true when a model decides in either; `last_training_rows` is
/// `b`'s when it has one; `heuristic` and `last_error` stay `a`'s unless empty.
inline learned_stats& operator+=(learned_stats& a, const learned_stats& b) {
  a.model_evictions += b.model_evictions;
  a.fallback_evictions += b.fallback_evictions;
  a.recency_evictions += b.recency_evictions;
  a.panel_evictions += b.panel_evictions;
  a.model_epochs += b.model_epochs;
  a.lru_epochs += b.lru_epochs;
  a.heuristic_switches += b.heuristic_switches;
  a.guarded_epochs += b.guarded_epochs;
  a.guard_trips += b.guard_trips;
  a.routs += b.routs;
  a.admissions += b.admissions;
  a.bypasses += b.bypasses;
  a.rankings += b.rankings;
  a.rows_scored += b.rows_scored;
  a.rows_screened_out += b.rows_screened_out;
  a.samples += b.samples;
  a.labelled += b.labelled;
  a.retrains += b.retrains;
  a.last_training_rows = b.last_training_rows != 0 ? b.last_training_rows : a.last_training_rows;
  a.training_failures += b.training_failures;
  a.model_failures += b.model_failures;
  a.training_seconds += b.training_seconds;
  a.inference_seconds += b.inference_seconds;
  a.true_positives += b.true_positives;
  a.false_positives += b.false_positives;
  a.false_negatives += b.false_negatives;
  a.true_negatives += b.true_negatives;
  a.model_active = a.model_active || b.model_active;
  if (a.heuristic.empty()) a.heuristic = b.heuristic;
  if (a.last_error.empty()) a.last_error = b.last_error;
  return a;
}

namespace detail {

inline constexpr std::string_view no_trainer_message =
    "prescient: the learned policy has no trainer, so it would never learn: include "
    "prescient/learn/forest_trainer.hpp (compiled_forest's trainer), set config.trainer, or set "
    "config.mode = training_mode::off to run a fixed config.model";

/// concurrent_cache's set-up of its shards' configuration (before any shard is built).
template <class Predictor, class BaseConfig>
void prepare_shards(learned_config<Predictor, BaseConfig>& c, std::size_t /*shards*/, std::uint64_t /*capacity*/) {
  if (c.mode == training_mode::synchronous) c.mode = training_mode::background;
}

/// What the shards share, added once to the sum of their statistics.
template <class Predictor, class BaseConfig>
void add_shared_stats(const learned_config<Predictor, BaseConfig>& /*c*/, learned_stats& /*total*/) {}

}  // namespace detail

}  // namespace prescient::policy

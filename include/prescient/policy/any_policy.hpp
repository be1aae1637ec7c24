// prescient/policy/any_policy.hpp — one policy type that holds any policy, chosen at run
// time by name (for tools, configuration files, and hosts that pick a policy from a
// setting).
//
// `cache<K, V, policy::any_policy>` works like any other cache; the policy is named in
// the config: `cache<K, V, any_policy> c(1000, {.name = "s3fifo", .params = "small=0.2"})`.
// Each notification is one virtual call: prefer a policy template parameter where the
// policy is known at compile time (the simulator instantiates one replay loop per
// policy for that reason). Names and parameter strings are resolved by
// policy/registry.hpp; an unknown name or parameter throws `policy::config_error`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "prescient/policy/config_error.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy {

/// Which policy, and its parameters.
struct any_policy_config {
  std::string name = "lru";  ///< a name known to policy/registry.hpp
  std::string params = {};   ///< "key=value,key=value": the policy's config fields
};

class any_policy {
 public:
  using config = any_policy_config;
  static constexpr std::string_view name = "any";

  /// Defined in registry.hpp (include it once somewhere in the program).
  explicit any_policy(std::uint64_t capacity, config cfg = {});

  /// Wraps a policy object directly.
  template <eviction_policy P>
  static any_policy wrap(P policy) {
    any_policy a;
    a.impl_ = std::make_unique<model<P>>(std::move(policy));
    return a;
  }

  void reserve_slots(std::size_t n) { impl_->reserve_slots(n); }
  void on_insert(slot_id s, const access& a) { impl_->on_insert(s, a); }
  void on_access(slot_id s, const access& a) { impl_->on_access(s, a); }
  void on_evict(slot_id s) { impl_->on_evict(s); }
  void on_erase(slot_id s) { impl_->on_erase(s); }
  slot_id victim(const access& a) { return impl_->victim(a); }
  void clear() { impl_->clear(); }
  void on_miss(const access& a) { impl_->on_miss(a); }
  void reserve_weight(std::uint64_t w) { impl_->reserve_weight(w); }
  void use_key_hashes(key_hash_view v) { impl_->use_key_hashes(v); }
  bool admit(const access& a, slot_id v) { return impl_->admit(a, v); }
  [[nodiscard]] std::size_t metadata_bytes_per_entry() const { return impl_->metadata_bytes_per_entry(); }
  /// The held policy's own name.
  [[nodiscard]] std::string_view held_name() const { return impl_->held_name(); }

 private:
  any_policy() = default;

  struct concept_t {
    virtual ~concept_t() = default;
    virtual void reserve_slots(std::size_t) = 0;
    virtual void on_insert(slot_id, const access&) = 0;
    virtual void on_access(slot_id, const access&) = 0;
    virtual void on_evict(slot_id) = 0;
    virtual void on_erase(slot_id) = 0;
    virtual slot_id victim(const access&) = 0;
    virtual void clear() = 0;
    virtual void on_miss(const access&) = 0;
    virtual void reserve_weight(std::uint64_t) = 0;
    virtual void use_key_hashes(key_hash_view) = 0;
    virtual bool admit(const access&, slot_id) = 0;
    [[nodiscard]] virtual std::size_t metadata_bytes_per_entry() const = 0;
    [[nodiscard]] virtual std::string_view held_name() const = 0;
  };

  template <class P>
  struct model final : concept_t {
    explicit model(P p) : policy(std::move(p)) {}
    void reserve_slots(std::size_t n) override { policy.reserve_slots(n); }
    void on_insert(slot_id s, const access& a) override { policy.on_insert(s, a); }
    void on_access(slot_id s, const access& a) override { policy.on_access(s, a); }
    void on_evict(slot_id s) override { policy.on_evict(s); }
    void on_erase(slot_id s) override { policy.on_erase(s); }
    slot_id victim(const access& a) override { return policy.victim(a); }
    void clear() override { policy.clear(); }
    void on_miss(const access& a) override {
      if constexpr (has_miss_hook<P>) policy.on_miss(a);
    }
    void reserve_weight(std::uint64_t w) override {
      if constexpr (has_weight_reserve<P>) policy.reserve_weight(w);
    }
    void use_key_hashes(key_hash_view v) override {
      if constexpr (has_key_hashes<P>) policy.use_key_hashes(v);
    }
    bool admit(const access& a, slot_id v) override {
      if constexpr (has_admission<P>) return policy.admit(a, v);
      else return true;
    }
    [[nodiscard]] std::size_t metadata_bytes_per_entry() const override { return policy.metadata_bytes_per_entry(); }
    [[nodiscard]] std::string_view held_name() const override { return P::name; }
    P policy;
  };

  std::unique_ptr<concept_t> impl_;
};

static_assert(eviction_policy<any_policy>);

}  // namespace prescient::policy

// The constructor that resolves names lives with the registry.
#include "prescient/policy/registry.hpp"

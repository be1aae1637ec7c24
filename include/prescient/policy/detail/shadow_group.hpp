// prescient/policy/detail/shadow_group.hpp — several eviction policies shadowing one
// stream of 64-bit keys, with one key index between them: the learned policy's panel
// miniatures (policy/learned/panel.hpp).
//
// Each member decides exactly as cache<std::uint64_t, …, P> with the same capacity and
// weights would — a weight of 0 counts as 1, a key heavier than the capacity is never
// cached, a victim the policy's admission prefers keeps its place — through the core's
// protocol (on_miss → [victim → admit → on_evict]* → on_insert; on_access on a hit), and
// a member's slots come from its own free list, so no policy can tell it shares
// anything. What the group saves is the index: a request probes one table instead of one
// per member, and a key enters or leaves that table with the *union* of the members, not
// once per member that takes or drops it. Members that disagree make the union larger
// than any one of them (the panel's S3-FIFO, W-TinyLFU, ARC and LRU keep different keys),
// so the saving is mostly time, not memory.
//
// Per key of the union: a record (the key, and its slot in each member) and the index's
// buckets. Per slot of each member: the key's weight, its record and the policy's own
// metadata. No operation allocates once the arrays have reached their size.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "prescient/detail/slot_index.hpp"
#include "prescient/policy/policy.hpp"

namespace prescient::policy::detail {

template <eviction_policy... Ps>
class shadow_group {
 public:
  static constexpr std::size_t members = sizeof...(Ps);
  static_assert(members > 0 && members <= 32, "a member is a bit of a request's answer");
  /// Bit i of a request's answer: member i hit. Bit i of `active`: member i sees requests.
  using member_bits = std::uint32_t;
  static constexpr member_bits all = members == 32 ? ~member_bits{0} : (member_bits{1} << members) - 1;

  /// `capacity`: every member's; `configs`: each member's parameters, in order.
  explicit shadow_group(std::uint64_t capacity, typename Ps::config... configs)
      : capacity_(capacity), members_(member<Ps>(capacity, std::move(configs))...) {
    reserve(static_cast<std::size_t>(std::min<std::uint64_t>(capacity, std::uint64_t{1} << 20)));
  }

  /// Sizes the arrays for `n` keys in each member (and in their union, as if they agreed).
  void reserve(std::size_t n) {
    index_.reserve(n);
    record_key_.reserve(n);
    record_slots_.reserve(n);
    free_records_.reserve(n);
    for_each_member([&](auto& m) {
      m.weight.reserve(n);
      m.record.reserve(n);
      m.free.reserve(n);
      m.policy.reserve_slots(n);
    });
  }

  /// A request of `key` at logical time `time`, seen by the members in `active`: the
  /// members that hit. A member that misses inserts the key with `weight` when it fits
  /// and the policy admits it; members outside `active` see nothing.
  member_bits request(std::uint64_t key, std::uint64_t weight, std::uint64_t time, member_bits active = all) {
    const access a{key, time, std::max<std::uint64_t>(weight, 1), access::unknown};
    slot_id r = find(key);
    member_bits hits = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((hits |= (active >> I & 1u) != 0 && request_member<I>(r, a) ? member_bits{1} << I : 0), ...);
    }(std::index_sequence_for<Ps...>{});
    return hits;
  }

  [[nodiscard]] bool contains(std::size_t member_index, std::uint64_t key) const {
    const slot_id r = find(key);
    return r != no_slot && record_slots_[r][member_index] != no_slot;
  }
  /// Keys held by member `member_index`; the weight it holds.
  [[nodiscard]] std::size_t size(std::size_t member_index) const {
    std::size_t n = 0;
    visit_member(member_index, [&](const auto& m) { n = m.weight.size() - m.free.size(); });
    return n;
  }
  [[nodiscard]] std::uint64_t weight(std::size_t member_index) const {
    std::uint64_t w = 0;
    visit_member(member_index, [&](const auto& m) { w = m.total; });
    return w;
  }
  /// Keys held by at least one member.
  [[nodiscard]] std::size_t union_size() const { return index_.size(); }
  [[nodiscard]] std::uint64_t capacity() const { return capacity_; }

  /// Bytes per unit of capacity: the slots of the members in `counted`, and the union's
  /// records as they stand (a record and its index buckets per key, at load ≤ ½).
  [[nodiscard]] std::size_t bytes_per_entry(member_bits counted = all) const {
    std::size_t per_slot = 0;
    std::size_t i = 0;
    for_each_member([&](const auto& m) {
      if ((counted >> i++ & 1u) != 0) per_slot += sizeof(std::uint64_t) + sizeof(slot_id) + m.policy.metadata_bytes_per_entry();
    });
    const std::size_t per_record = record_bytes;
    const double records_per_entry =
        static_cast<double>(std::max<std::size_t>(index_.size(), 1)) / static_cast<double>(std::max<std::uint64_t>(capacity_, 1));
    return per_slot + static_cast<std::size_t>(records_per_entry * static_cast<double>(per_record) + 0.5);
  }

  void clear() {
    index_.clear();
    free_records_.clear();
    for (std::size_t r = record_key_.size(); r-- > 0;) {
      record_slots_[r].fill(no_slot);
      free_records_.push_back(static_cast<slot_id>(r));
    }
    for_each_member([](auto& m) {
      m.policy.clear();
      m.free.clear();
      for (std::size_t s = m.weight.size(); s-- > 0;) m.free.push_back(static_cast<slot_id>(s));
      m.total = 0;
    });
  }

 private:
  static constexpr std::size_t record_bytes =
      sizeof(std::uint64_t) + members * sizeof(slot_id) + 2 * prescient::detail::slot_index::bytes_per_bucket;

  template <class P>
  struct member {
    member(std::uint64_t capacity, typename P::config cfg) : policy(capacity, std::move(cfg)) {}
    P policy;
    std::uint64_t total = 0;       // weight held
    std::size_t reserved = 0;      // slots the policy has been sized for
    std::vector<std::uint64_t> weight;  // per slot
    std::vector<slot_id> record;        // per slot: the key's record
    std::vector<slot_id> free;          // slots not holding a key
  };

  template <class F>
  void for_each_member(F&& f) {
    std::apply([&](auto&... m) { (f(m), ...); }, members_);
  }
  template <class F>
  void for_each_member(F&& f) const {
    std::apply([&](const auto&... m) { (f(m), ...); }, members_);
  }
  template <class F>
  void visit_member(std::size_t i, F&& f) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((i == I ? (f(std::get<I>(members_)), 0) : 0), ...);
    }(std::index_sequence_for<Ps...>{});
  }

  [[nodiscard]] slot_id find(std::uint64_t key) const {
    return index_.find(key, [&](slot_id r) { return record_key_[r] == key; });
  }

  // Member I's part of a request; `r` is the key's record (no_slot: no member holds it,
  // and the first member to take the key makes one). The key's own record cannot leave
  // during its request: a member that holds the key hits and evicts nothing, and a
  // member that misses evicts only keys it holds.
  template <std::size_t I>
  bool request_member(slot_id& r, const access& a) {
    using P = std::tuple_element_t<I, std::tuple<Ps...>>;
    auto& m = std::get<I>(members_);
    if (r != no_slot) {
      if (const slot_id s = record_slots_[r][I]; s != no_slot) {
        m.policy.on_access(s, a);
        return true;
      }
    }
    if constexpr (has_miss_hook<P>) m.policy.on_miss(a);
    if (a.weight > capacity_) return false;
    while (m.total + a.weight > capacity_) {
      const slot_id v = m.policy.victim(a);
      if constexpr (has_admission<P>) {
        if (!m.policy.admit(a, v)) return false;
      }
      m.policy.on_evict(v);
      remove<I>(v);
    }
    slot_id n;
    if (!m.free.empty()) {
      n = m.free.back();
      m.free.pop_back();
    } else {
      n = static_cast<slot_id>(m.weight.size());
      m.weight.push_back(0);
      m.record.push_back(no_slot);
      if (m.weight.capacity() > m.reserved) {
        m.reserved = m.weight.capacity();
        m.policy.reserve_slots(m.reserved);
        if (m.free.capacity() < m.reserved) m.free.reserve(m.reserved);  // remove never allocates
        if (m.record.capacity() < m.reserved) m.record.reserve(m.reserved);
      }
    }
    if (r == no_slot) r = new_record(a.key_hash);
    m.weight[n] = a.weight;
    m.record[n] = r;
    m.total += a.weight;
    record_slots_[r][I] = n;
    m.policy.on_insert(n, a);
    return false;
  }

  template <std::size_t I>
  void remove(slot_id s) {
    auto& m = std::get<I>(members_);
    const slot_id r = m.record[s];
    m.total -= m.weight[s];
    m.free.push_back(s);
    record_slots_[r][I] = no_slot;
    const auto& slots = record_slots_[r];
    if (std::all_of(slots.begin(), slots.end(), [](slot_id x) { return x == no_slot; })) {
      index_.erase(record_key_[r], r);
      free_records_.push_back(r);
    }
  }

  slot_id new_record(std::uint64_t key) {
    slot_id r;
    if (!free_records_.empty()) {
      r = free_records_.back();
      free_records_.pop_back();
    } else {
      r = static_cast<slot_id>(record_key_.size());
      record_key_.push_back(0);
      std::array<slot_id, members> none;
      none.fill(no_slot);
      record_slots_.push_back(none);
      if (free_records_.capacity() < record_key_.capacity()) free_records_.reserve(record_key_.capacity());
    }
    record_key_[r] = key;
    index_.insert(key, r);
    return r;
  }

  std::uint64_t capacity_;
  std::tuple<member<Ps>...> members_;
  prescient::detail::slot_index index_;                      // key → record
  std::vector<std::uint64_t> record_key_;                    // per record
  std::vector<std::array<slot_id, members>> record_slots_;   // per record: the slot in each member
  std::vector<slot_id> free_records_;                        // records not holding a key
};

}  // namespace prescient::policy::detail

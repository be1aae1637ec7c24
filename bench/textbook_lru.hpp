// bench/textbook_lru.hpp — the LRU everyone writes first: std::list of (key, value)
// plus std::unordered_map from key to list iterator. The baseline of the benchmarks.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

template <class Key, class Value>
class textbook_lru {
 public:
  explicit textbook_lru(std::size_t capacity) : capacity_(capacity) { index_.reserve(capacity); }

  std::optional<Value> get(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void put(const Key& key, Value value) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    if (capacity_ == 0) return;
    if (index_.size() == capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
  }

  static constexpr std::size_t metadata_bytes_per_entry() {
    // list node: two pointers beside the pair; map node: next pointer, cached hash,
    // the key and the iterator, plus one bucket pointer per entry at load 1.
    return 2 * sizeof(void*) + sizeof(void*) + sizeof(std::size_t) + sizeof(Key) + sizeof(void*) + sizeof(void*);
  }

 private:
  std::size_t capacity_;
  std::list<std::pair<Key, Value>> order_;
  std::unordered_map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

// prescient/hash.hpp — the hash the cache uses for its index and hands to its policy.
//
// libstdc++'s std::hash for integers is the identity, which is fatal for an open-
// addressing table indexed by the low bits and for sketches that split the hash into
// several counters' indices. `prescient::hash<K>` runs std::hash<K> through the
// splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014), so every output bit depends on every input bit. A custom
// Hash given to the cache is mixed the same way, so a weak user hash is also safe.
#pragma once

#include <cstdint>
#include <functional>

namespace prescient {

/// splitmix64's finaliser: a bijection on 64-bit integers with full avalanche.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

template <class Key>
struct hash {
  [[nodiscard]] std::uint64_t operator()(const Key& key) const noexcept(noexcept(std::hash<Key>{}(key))) {
    return mix64(static_cast<std::uint64_t>(std::hash<Key>{}(key)));
  }
};

}  // namespace prescient

// prescient/hash.hpp — the hash the cache uses for its index and hands to its policy.
//
// libstdc++'s std::hash for integers is the identity, which is fatal for an open-
// addressing table indexed by the low bits and for sketches that split the hash into
// several counters' indices. `prescient::hash<K>` runs std::hash<K> through the
// splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014), so every output bit depends on every input bit. A custom
// Hash given to the cache is mixed the same way, so a weak user hash is also safe.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

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

/// std::string keys hash as their characters, so a std::string_view (or a literal) finds
/// the same entry without building a string: the hash is transparent (with a transparent
/// key comparison, std::equal_to<>, the caches take such keys; see cache::get). The value
/// is the one the generic template gives, since std::hash<std::string> and
/// std::hash<std::string_view> agree on equal characters.
template <>
struct hash<std::string> {
  using is_transparent = void;
  [[nodiscard]] std::uint64_t operator()(std::string_view key) const noexcept {
    return mix64(static_cast<std::uint64_t>(std::hash<std::string_view>{}(key)));
  }
};

namespace detail {
/// A lookup by a `K` other than the cache's Key: both Hash and KeyEqual declare
/// `is_transparent`, and both accept a K.
template <class Hash, class KeyEqual, class K, class Key>
concept transparent_lookup =
    !std::is_same_v<std::remove_cvref_t<K>, Key> && requires(const Hash& h, const KeyEqual& eq, const K& k, const Key& key) {
      typename Hash::is_transparent;
      typename KeyEqual::is_transparent;
      h(k);
      { eq(key, k) } -> std::convertible_to<bool>;
    };
}  // namespace detail

}  // namespace prescient

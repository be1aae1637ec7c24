// The UBJSON reader's memory is bounded by the document's size (issue 15, D5). Typed
// containers of zero-size elements (`[$Z#n`, `$T`, `$F`) take no bytes per element; a
// count checked only against the bytes left let a 64 KiB file of nested ones make tens of
// millions of values — gigabytes. Here global operator new counts the bytes alive, and a
// hostile document must be refused (model_error) with a peak of at most a small multiple
// of its size; documents that do parse stay within the same bound.
#include <gtest/gtest.h>

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "prescient/learn/compiled_forest.hpp"
#include "prescient/learn/detail/json.hpp"
#include "prescient/learn/xgboost_predictor.hpp"

// GCC 12 pairs this operator new with inlined library deletes and warns that malloc'd
// memory reaches free through them; the replaced pair below is consistent.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<std::size_t> g_live{0};
std::atomic<std::size_t> g_peak{0};
// Beyond this many live bytes operator new fails: a blow-up ends as std::bad_alloc in
// a second instead of gigabytes later.
constexpr std::size_t g_limit = std::size_t{512} << 20;
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  const std::size_t size = malloc_usable_size(p);
  const std::size_t now = g_live.fetch_add(size) + size;
  if (now > g_limit) {
    g_live.fetch_sub(size);
    std::free(p);
    throw std::bad_alloc();
  }
  for (std::size_t peak = g_peak.load(); now > peak && !g_peak.compare_exchange_weak(peak, now);) {
  }
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_live.fetch_sub(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using namespace prescient::learn;

// Bytes of tree allowed per byte of document, and a fixed allowance for the rest.
constexpr std::size_t bytes_per_byte = 160;
constexpr std::size_t fixed_allowance = 256 << 10;

// The peak of live bytes while `f` runs, above what was live before.
template <class F>
std::size_t peak_of(F&& f) {
  const std::size_t before = g_live.load();
  g_peak.store(before);
  f();
  return g_peak.load() - before;
}

// A count as UBJSON's int32 ('l', big-endian).
void put_count(std::string& out, std::uint32_t v) {
  out.push_back('l');
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// 64 KiB: an array of 1,000 arrays, each of 50,000 typed nulls (eight bytes each), padded
// with no-op markers so that every count stays below the bytes left. Before the fix:
// 5 × 10^7 values, ~2 GB.
std::string nested_nulls() {
  std::string doc = "[$[#";
  put_count(doc, 1000);
  for (int i = 0; i < 1000; ++i) {
    doc += "$Z#";
    put_count(doc, 50000);
  }
  doc.resize(64 << 10, 'N');
  return doc;
}

// Many small typed arrays of `true`: 127 values from 5 bytes each.
std::string many_small_bool_arrays() {
  std::string doc = "[";
  while (doc.size() + 6 < (64 << 10)) doc += "[$T#i\x7f";
  doc += "]";
  return doc;
}

// A typed object of nulls: each member costs its key's bytes.
std::string object_of_nulls() {
  std::string doc = "{$Z#";
  put_count(doc, 10000);
  for (int i = 0; i < 10000; ++i) {
    const std::string key = std::to_string(i);
    doc += "i";
    doc.push_back(static_cast<char>(key.size()));
    doc += key;
  }
  return doc;
}

TEST(UbjsonMemory, D5_ZeroSizeTypedElementsCannotOutnumberTheBytes) {
  for (const auto& [name, doc] : {std::pair{"nested nulls", nested_nulls()},
                                  std::pair{"many small arrays of true", many_small_bool_arrays()}}) {
    SCOPED_TRACE(name);
    const std::size_t peak = peak_of([&] {
      try {
        (void)compiled_forest::from_ubjson(std::span<const char>(doc.data(), doc.size()));
        ADD_FAILURE() << "compiled";
      } catch (const model_error& e) {
        EXPECT_NE(std::string(e.what()).find("than the document has bytes"), std::string::npos) << e.what();
      } catch (const std::bad_alloc&) {
        ADD_FAILURE() << "the reader ran out of memory (more than " << (g_limit >> 20) << " MiB live) on a "
                      << doc.size() << "-byte document";
      }
    });
    EXPECT_LE(peak, bytes_per_byte * doc.size() + fixed_allowance) << "peak " << peak << " bytes";
    // The xgboost-backed loader reads the document with the same reader before xgboost.
    EXPECT_THROW((void)xgboost_predictor::from_buffer(std::span<const char>(doc.data(), doc.size())), model_error);
  }
}

// Documents that do parse stay within the bound too: zero-size elements up to the
// document's size, one-byte elements, a real model.
TEST(UbjsonMemory, DocumentsThatParseStayWithinTheBound) {
  std::string zeros = "[$Z#";
  put_count(zeros, 3000);
  zeros.resize(4000, 'N');
  std::string bytes_array = "[$U#";
  put_count(bytes_array, 60000);
  bytes_array.append(60000, '\x01');
  std::string untyped = "[";
  untyped.append(60000, 'Z');
  untyped += "]";
  const std::string objects = object_of_nulls();

  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  feature_matrix x(500, 4);
  std::vector<float> y(500);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index c = 0; c < 4; ++c) x(r, c) = normal(rng);
    y[static_cast<std::size_t>(r)] = x(r, 0) * x(r, 1);
  }
  training_params p;
  p.rounds = 16;
  const std::vector<char> model = xgboost_predictor::train(x, y, p).to_buffer(model_format::ubjson);
  const std::string real(model.begin(), model.end());

  for (const auto& [name, doc] : {std::pair{"3,000 typed nulls", zeros}, std::pair{"60,000 typed bytes", bytes_array},
                                  std::pair{"60,000 untyped nulls", untyped}, std::pair{"an object of nulls", objects},
                                  std::pair{"a real model", real}}) {
    SCOPED_TRACE(name);
    const std::size_t peak = peak_of([&] {
      (void)detail::ubjson_parser::parse(std::span<const char>(doc.data(), doc.size()));
    });
    EXPECT_LE(peak, bytes_per_byte * doc.size() + fixed_allowance)
        << "peak " << peak << " bytes for " << doc.size() << " (" << peak / doc.size() << " per byte)";
  }
}

}  // namespace

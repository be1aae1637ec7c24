// examples/sqlite_catalog/catalog.hpp — a product catalogue in SQLite, read by key.
//
// The backing store of the example: products, their categories and their reviews. A
// read of one product is a real query (a join and an aggregate over its reviews), so a
// cache miss costs what it costs in a web service. The connection is opened in
// serialized mode and every statement runs under one mutex, so loads may come from the
// caller's thread and from the prefetch executor at once. `queries()` counts the reads.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

namespace catalog_example {

struct product_view {
  std::int64_t id = 0;
  std::string name;
  std::int64_t price_cents = 0;
  std::string category;
  std::int64_t reviews = 0;
  double mean_stars = 0;
  friend bool operator==(const product_view&, const product_view&) = default;
};

class catalog {
 public:
  /// Creates (replacing) a catalogue of `products` products at `path`.
  static void create(const std::filesystem::path& path, std::int64_t products, std::uint32_t seed = 1) {
    std::filesystem::remove(path);
    catalog db(path);
    db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
    db.exec("CREATE TABLE categories(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL,"
            " category_id INTEGER NOT NULL REFERENCES categories(id));"
            "CREATE TABLE reviews(product_id INTEGER NOT NULL REFERENCES products(id), stars INTEGER NOT NULL,"
            " body TEXT NOT NULL);"
            "CREATE INDEX reviews_by_product ON reviews(product_id);");
    db.exec("BEGIN");
    for (int c = 1; c <= 40; ++c) db.exec("INSERT INTO categories VALUES(" + std::to_string(c) + ", 'category " + std::to_string(c) + "')");
    std::mt19937_64 rng(seed);
    for (std::int64_t p = 1; p <= products; ++p) {
      db.exec("INSERT INTO products VALUES(" + std::to_string(p) + ", 'product " + std::to_string(p) + "', " +
              std::to_string(100 + rng() % 100000) + ", " + std::to_string(1 + rng() % 40) + ")");
      for (std::uint64_t r = 0, n = rng() % 6; r < n; ++r)
        db.exec("INSERT INTO reviews VALUES(" + std::to_string(p) + ", " + std::to_string(1 + rng() % 5) +
                ", 'review text')");
    }
    db.exec("COMMIT");
  }

  explicit catalog(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
      throw std::runtime_error("sqlite: cannot open " + path.string() + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
  }
  ~catalog() {
    if (read_) sqlite3_finalize(read_);
    sqlite3_close(db_);
  }
  catalog(const catalog&) = delete;
  catalog& operator=(const catalog&) = delete;

  /// The product with its category and review summary (a real query), or nullopt.
  std::optional<product_view> read(std::int64_t id) {
    std::lock_guard lock(mutex_);
    queries_.fetch_add(1, std::memory_order_relaxed);
    if (!read_)
      prepare("SELECT p.id, p.name, p.price_cents, c.name, COUNT(r.product_id), COALESCE(AVG(r.stars), 0)"
              " FROM products p JOIN categories c ON c.id = p.category_id"
              " LEFT JOIN reviews r ON r.product_id = p.id WHERE p.id = ?1 GROUP BY p.id",
              &read_);
    sqlite3_reset(read_);
    sqlite3_bind_int64(read_, 1, id);
    const int rc = sqlite3_step(read_);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(read_);
      return std::nullopt;
    }
    if (rc != SQLITE_ROW) {
      const std::string message = sqlite3_errmsg(db_);
      sqlite3_reset(read_);
      throw std::runtime_error("sqlite: read failed: " + message);
    }
    product_view v;
    v.id = sqlite3_column_int64(read_, 0);
    v.name = reinterpret_cast<const char*>(sqlite3_column_text(read_, 1));
    v.price_cents = sqlite3_column_int64(read_, 2);
    v.category = reinterpret_cast<const char*>(sqlite3_column_text(read_, 3));
    v.reviews = sqlite3_column_int64(read_, 4);
    v.mean_stars = sqlite3_column_double(read_, 5);
    sqlite3_reset(read_);  // end the read transaction: writers on other connections may proceed
    return v;
  }

  void set_price(std::int64_t id, std::int64_t price_cents) {
    std::lock_guard lock(mutex_);
    exec("UPDATE products SET price_cents = " + std::to_string(price_cents) + " WHERE id = " + std::to_string(id));
  }

  [[nodiscard]] std::uint64_t queries() const { return queries_.load(std::memory_order_relaxed); }

 private:
  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error("sqlite: " + message + " in: " + sql.substr(0, 80));
    }
  }
  void prepare(const char* sql, sqlite3_stmt** out) {
    if (sqlite3_prepare_v2(db_, sql, -1, out, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: cannot prepare: ") + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* read_ = nullptr;
  std::mutex mutex_;
  std::atomic<std::uint64_t> queries_{0};
};

}  // namespace catalog_example

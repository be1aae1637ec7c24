// A host program that uses only the header-only core, as a consumer would.
#include <prescient/cache.hpp>
#include <prescient/policy/s3fifo.hpp>

int main() {
  prescient::cache<int, int, prescient::policy::s3fifo> c(10);
  for (int i = 0; i < 100; ++i) c.put(i, i);
  return c.size() == 10 && c.weight() <= 10 ? 0 : 1;
}

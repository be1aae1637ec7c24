// A host program that uses the trace readers (prescient::trace) alone.
#include <prescient/trace/reader.hpp>

#include <span>
#include <string_view>

int main() {
  constexpr std::string_view text = "1\n2\n1\n";
  auto r = prescient::trace::open(prescient::trace::open_bytes(std::span<const char>(text.data(), text.size())),
                                  prescient::trace::format::lines);
  return prescient::trace::load(r).size() == 3 ? 0 : 1;
}

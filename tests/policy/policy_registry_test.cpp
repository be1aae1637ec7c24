// Choosing a policy by name at run time: any_policy and the registry.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "prescient/cache.hpp"
#include "prescient/policy/any_policy.hpp"
#include "prescient/policy/registry.hpp"

namespace {

using prescient::policy::any_policy;

TEST(PolicyRegistry, ListsEveryPolicy) {
  const auto names = prescient::policy::policy_names();
  for (const char* n : {"lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "wtinylfu", "belady"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

// The type-erased cache must make exactly the decisions of the templated one.
template <class P>
void same_decisions(const std::string& name, const std::string& params) {
  prescient::cache<int, int, P> typed(100, prescient::policy::parse_config<P>(params));
  prescient::cache<int, int, any_policy> erased(100, {.name = name, .params = params});
  std::mt19937 rng(3);
  for (int i = 0; i < 50'000; ++i) {
    const int key = static_cast<int>(rng() % 400) * static_cast<int>(rng() % 3);
    const bool a = typed.get_or_insert(key, [] { return 0; });
    const bool b = erased.get_or_insert(key, [] { return 0; });
    ASSERT_EQ(a, b) << name << " request " << i;
  }
  EXPECT_EQ(typed.stats(), erased.stats());
  EXPECT_EQ(erased.policy().held_name(), name);
}

TEST(PolicyRegistry, AnyPolicyMakesTheSameDecisions) {
  same_decisions<prescient::policy::lru>("lru", "");
  same_decisions<prescient::policy::lfu>("lfu", "");
  same_decisions<prescient::policy::arc>("arc", "");
  same_decisions<prescient::policy::s3fifo>("s3fifo", "small=0.2");
  same_decisions<prescient::policy::sieve>("sieve", "");
  same_decisions<prescient::policy::wtinylfu>("wtinylfu", "");
}

TEST(PolicyRegistry, BadNamesAndParametersAreClearErrors) {
  EXPECT_THROW(any_policy(10, {.name = "nope", .params = ""}), prescient::policy::config_error);
  EXPECT_THROW(any_policy(10, {.name = "lru", .params = "x=1"}), prescient::policy::config_error);
  EXPECT_THROW(any_policy(10, {.name = "s3fifo", .params = "small"}), prescient::policy::config_error);
  EXPECT_THROW(any_policy(10, {.name = "s3fifo", .params = "bogus=1"}), prescient::policy::config_error);
  EXPECT_THROW(any_policy(10, {.name = "s3fifo", .params = "small=abc"}), std::invalid_argument);
  try {
    any_policy(10, {.name = "nope", .params = ""});
  } catch (const prescient::policy::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

// A known key's unusable value is reported as such — the policy, the key, the value and
// what the key takes — not as an unknown parameter; an unknown key still is one.
TEST(PolicyRegistry, AKnownKeysUnusableValueIsNamedWithWhatItTakes) {
  const auto message = [](const std::string& name, const std::string& params) -> std::string {
    try {
      any_policy(10, {.name = name, .params = params});
    } catch (const prescient::policy::config_error& e) {
      return e.what();
    }
    return "(accepted)";
  };
  const struct {
    const char* policy;
    const char* params;
    const char* value;
    const char* expected;
  } bad[] = {
      {"s3fifo", "small=2", "'small' = '2'", "from 0 to 1"},
      {"s3fifo", "ghost=inf", "'ghost' = 'inf'", "finite"},
      {"s3fifo", "ghost=nan", "'ghost' = 'nan'", "finite"},
      {"s3fifo", "threshold=4", "'threshold' = '4'", "0, 1, 2 or 3"},
      {"s3fifo", "warmup=maybe", "'warmup' = 'maybe'", "true or false"},
      {"wtinylfu", "window=-0.1", "'window' = '-0.1'", "from 0 to 1"},
      {"wtinylfu", "sample=0", "'sample' = '0'", ">= 1"},
      {"wtinylfu", "sketch=-1", "'sketch' = '-1'", "whole number"},
      {"belady", "bypass=2", "'bypass' = '2'", "true or false"},
  };
  for (const auto& b : bad) {
    const std::string what = message(b.policy, b.params);
    SCOPED_TRACE(std::string(b.policy) + " " + b.params + ": " + what);
    EXPECT_EQ(what.find("policy " + std::string(b.policy) + ": "), 0u);
    EXPECT_NE(what.find(b.value), std::string::npos);
    EXPECT_NE(what.find("': expected "), std::string::npos);
    EXPECT_NE(what.find(b.expected), std::string::npos);
    EXPECT_EQ(what.find("no parameter"), std::string::npos);
  }
  EXPECT_EQ(message("s3fifo", "bogus=1"), "policy s3fifo has no parameter 'bogus'");
  EXPECT_EQ(message("s3fifo", "small=0.2,threshold=0,warmup=on,ghost=0"), "(accepted)");
}

TEST(PolicyRegistry, VisitPolicyYieldsTheType) {
  const std::string got = prescient::policy::visit_policy("sieve", []<class P>() { return std::string(P::name); });
  EXPECT_EQ(got, "sieve");
}

}  // namespace

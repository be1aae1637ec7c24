// Model-based test of time for `cache`, on a fake clock, for every registered policy:
// the run and its reference are in expiry_model.hpp (shared with concurrent_cache's
// model test, concurrent_expiry_model_test.cpp).
#include "core/expiry_model.hpp"

#include "prescient/policy/registry.hpp"

namespace {

using expiry_model::mode;
using expiry_model::model_run;

using expiry_model::every_policy;

template <class P>
class ExpiryModel : public ::testing::Test {};
TYPED_TEST_SUITE(ExpiryModel, every_policy);

TYPED_TEST(ExpiryModel, PerEntryExpiryMatchesTheReference) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    model_run<TypeParam, mode::per_entry> run(seed);
    run.run(4000);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

TYPED_TEST(ExpiryModel, AfterWriteAfterAccessAndRefreshMatchTheReference) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    model_run<TypeParam, mode::write_access_refresh> run(seed);
    run.run(4000);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

TYPED_TEST(ExpiryModel, PerEntryExpiryWithoutReadRuleMatchesTheReference) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    model_run<TypeParam, mode::per_entry_no_read> run(seed);
    run.run(4000);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

TYPED_TEST(ExpiryModel, AfterWriteAndRefreshMatchTheReference) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    model_run<TypeParam, mode::write_refresh> run(seed);
    run.run(4000);
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "seed " << seed;
      return;
    }
  }
}

}  // namespace

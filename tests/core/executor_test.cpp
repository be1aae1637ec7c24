// bounded_executor: a fixed pool behind a bounded queue; try_submit never waits, drops
// and counts when full; throwing tasks are counted; shutdown drains or discards.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "prescient/executor.hpp"

namespace {

using namespace std::chrono_literals;
using prescient::bounded_executor;
using mode = bounded_executor::shutdown_mode;

using prescient::test::eventually;

// A task that blocks its worker until released.
struct gate {
  std::atomic<bool> open{false};
  std::atomic<int> entered{0};
  auto task() {
    return [this] {
      entered.fetch_add(1);
      EXPECT_TRUE(eventually([this] { return open.load(); }));
    };
  }
};

TEST(BoundedExecutor, Defaults) {
  bounded_executor ex;
  EXPECT_EQ(ex.thread_count(), 2u);
  EXPECT_GE(ex.queue_capacity(), 1u);
  bounded_executor tiny(0, 0);  // clamped to one worker, one slot
  EXPECT_EQ(tiny.thread_count(), 1u);
  EXPECT_EQ(tiny.queue_capacity(), 1u);
}

TEST(BoundedExecutor, RunsEveryTask) {
  bounded_executor ex(2, 256);
  std::atomic<int> sum{0};
  for (int i = 1; i <= 200; ++i) ASSERT_TRUE(ex.try_submit([&sum, i] { sum.fetch_add(i); }));
  ex.wait_idle();
  EXPECT_EQ(sum.load(), 200 * 201 / 2);
  const auto s = ex.stats();
  EXPECT_EQ(s.submitted, 200u);
  EXPECT_EQ(s.completed, 200u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.running, 0u);
  EXPECT_FALSE(ex.try_submit(nullptr));  // an empty task is refused, not counted
  EXPECT_EQ(ex.stats().submitted, 200u);
}

TEST(BoundedExecutor, DropsWhenFullWithoutBlocking) {
  bounded_executor ex(1, 2);
  gate g;
  ASSERT_TRUE(ex.try_submit(g.task()));
  ASSERT_TRUE(eventually([&] { return g.entered.load() == 1; }));  // the worker is busy
  std::atomic<int> ran{0};
  EXPECT_TRUE(ex.try_submit([&] { ran.fetch_add(1); }));
  EXPECT_TRUE(ex.try_submit([&] { ran.fetch_add(1); }));
  // Refused without waiting: a submit that waited for room would wait for the gate,
  // which opens only below, and the test would never get there.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(ex.try_submit([&] { ran.fetch_add(100); }));
  auto s = ex.stats();
  EXPECT_EQ(s.dropped, 5u);
  EXPECT_EQ(s.queued, 2u);
  EXPECT_EQ(s.running, 1u);
  g.open = true;
  ex.wait_idle();
  EXPECT_EQ(ran.load(), 2);
  s = ex.stats();
  EXPECT_EQ(s.submitted, 3u);
  EXPECT_EQ(s.completed, 3u);
  EXPECT_EQ(s.dropped, 5u);
  // Room again.
  EXPECT_TRUE(ex.try_submit([&] { ran.fetch_add(1); }));
  ex.wait_idle();
  EXPECT_EQ(ran.load(), 3);
}

TEST(BoundedExecutor, ThrowingTasksAreCountedAndTheWorkerSurvives) {
  bounded_executor ex(1, 64);
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ex.try_submit([] { throw std::runtime_error("task failed"); }));
    ASSERT_TRUE(ex.try_submit([] { throw 42; }));  // not even a std::exception
    ASSERT_TRUE(ex.try_submit([&] { ran.fetch_add(1); }));
  }
  ex.wait_idle();
  EXPECT_EQ(ran.load(), 10);
  const auto s = ex.stats();
  EXPECT_EQ(s.failed, 20u);
  EXPECT_EQ(s.completed, 10u);
  EXPECT_EQ(s.submitted, 30u);
}

TEST(BoundedExecutor, ShutdownDrainRunsQueuedWork) {
  bounded_executor ex(1, 16);
  gate g;
  ASSERT_TRUE(ex.try_submit(g.task()));
  ASSERT_TRUE(eventually([&] { return g.entered.load() == 1; }));
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ex.try_submit([&] { ran.fetch_add(1); }));
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);
    g.open = true;
  });
  ex.shutdown(mode::drain);
  opener.join();
  EXPECT_EQ(ran.load(), 10);
  const auto s = ex.stats();
  EXPECT_EQ(s.completed, 11u);
  EXPECT_EQ(s.discarded, 0u);
  EXPECT_FALSE(ex.try_submit([&] { ran.fetch_add(1); }));  // refused after shutdown
  EXPECT_EQ(ex.stats().dropped, 1u);
  ex.shutdown();  // idempotent
}

TEST(BoundedExecutor, ShutdownDiscardDropsQueuedWork) {
  bounded_executor ex(1, 16);
  gate g;
  ASSERT_TRUE(ex.try_submit(g.task()));
  ASSERT_TRUE(eventually([&] { return g.entered.load() == 1; }));
  std::atomic<int> ran{0};
  auto token = std::make_shared<int>(0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ex.try_submit([&ran, token] { ran.fetch_add(1); }));
  EXPECT_EQ(token.use_count(), 11);
  // The running task finishes once shutdown has discarded the queue.
  std::thread opener([&] {
    EXPECT_TRUE(eventually([&] { return ex.stats().discarded == 10; }));
    g.open = true;
  });
  ex.shutdown(mode::discard);
  opener.join();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(token.use_count(), 1);  // discarded tasks were destroyed
  const auto s = ex.stats();
  EXPECT_EQ(s.discarded, 10u);
  EXPECT_EQ(s.completed, 1u);
  EXPECT_EQ(s.submitted, s.completed + s.failed + s.discarded);
}

TEST(BoundedExecutor, DestructorStopsWithQueuedWork) {
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  {
    bounded_executor ex(2, 1000);
    for (int i = 0; i < 1000; ++i) {
      (void)ex.try_submit([&ran, token] {
        std::this_thread::sleep_for(50us);
        ran.fetch_add(1);
      });
    }
  }  // must join promptly without running all the queued work, and without leaking it
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_LE(ran.load(), 1000);
}

TEST(BoundedExecutor, ShutdownFromATaskIsRefused) {
  bounded_executor ex(1, 4);
  std::atomic<bool> refused{false};
  ASSERT_TRUE(ex.try_submit([&] {
    try {
      ex.shutdown();
    } catch (const std::logic_error&) {
      refused = true;
    }
  }));
  ex.wait_idle();
  EXPECT_TRUE(refused.load());
  EXPECT_TRUE(ex.try_submit([] {}));  // still running
  ex.wait_idle();
}

TEST(BoundedExecutor, ConcurrentSubmittersAccountForEveryTask) {
  bounded_executor ex(2, 8);
  std::atomic<int> ran{0};
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (ex.try_submit([&] { ran.fetch_add(1); })) accepted.fetch_add(1);
        else refused.fetch_add(1);
      }
    });
  }
  for (auto& th : pool) th.join();
  ex.wait_idle();
  const auto s = ex.stats();
  EXPECT_EQ(static_cast<int>(s.submitted), accepted.load());
  EXPECT_EQ(static_cast<int>(s.dropped), refused.load());
  EXPECT_EQ(s.submitted + s.dropped, 8000u);
  EXPECT_EQ(static_cast<int>(s.completed), ran.load());
  EXPECT_EQ(s.completed, s.submitted);
}

}  // namespace

// Unit tests of LazyTimer on a real event loop: it fires at its latest deadline, never before,
// not at all once disarmed, and a shorter timeout moves a pending longer one up.
#include "proxy/lazy_timer.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace remora {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class LazyTimerTest : public ::testing::Test {
 protected:
  void TearDown() override { event_base_free(base_); }

  static void onFire(void* self) {
    auto* test = static_cast<LazyTimerTest*>(self);
    ++test->fired_;
    test->fired_at_ = Clock::now();
    event_base_loopbreak(test->base_);
  }

  // Runs the loop until the timer fires or `limit` has passed.
  void runFor(milliseconds limit) {
    const timeval tv{static_cast<time_t>(limit.count() / 1000),
                     static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
    event_base_loopexit(base_, &tv);
    event_base_dispatch(base_);
  }

  event_base* base_ = event_base_new();
  int fired_ = 0;
  Clock::time_point fired_at_{};
};

TEST_F(LazyTimerTest, FiresOnceAtTheDeadline) {
  LazyTimer timer(base_, &onFire, this);
  const Clock::time_point armed = Clock::now();
  timer.arm(milliseconds(30));
  EXPECT_TRUE(timer.armed());
  runFor(milliseconds(5000));
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - armed, milliseconds(30));
  EXPECT_FALSE(timer.armed());
}

// Re-arms a 40 ms timer every 10 ms, ten times, from a timer of the loop's own.
struct Rearm {
  LazyTimer* timer;
  Clock::time_point* last;
  int left = 10;
  event* tick = nullptr;

  static void onTick(evutil_socket_t, short, void* arg) {
    auto* r = static_cast<Rearm*>(arg);
    r->timer->arm(milliseconds(40));
    *r->last = Clock::now();
    if (--r->left > 0) {
      const timeval ten{0, 10000};
      evtimer_add(r->tick, &ten);
    }
  }
};

TEST_F(LazyTimerTest, ArmingAgainMovesTheDeadlineLater) {
  LazyTimer timer(base_, &onFire, this);
  timer.arm(milliseconds(40));
  Clock::time_point last_armed{};
  Rearm rearm{&timer, &last_armed};
  rearm.tick = evtimer_new(base_, &Rearm::onTick, &rearm);
  const timeval ten{0, 10000};
  evtimer_add(rearm.tick, &ten);
  runFor(milliseconds(5000));
  event_free(rearm.tick);
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - last_armed, milliseconds(40));
}

TEST_F(LazyTimerTest, DisarmedItNeverFires) {
  LazyTimer timer(base_, &onFire, this);
  timer.arm(milliseconds(10));
  timer.disarm();
  runFor(milliseconds(100));
  EXPECT_EQ(fired_, 0);
}

TEST_F(LazyTimerTest, AShorterTimeoutMovesAPendingLongerOneUp) {
  LazyTimer timer(base_, &onFire, this);
  timer.arm(std::chrono::hours(1));
  const Clock::time_point armed = Clock::now();
  timer.arm(milliseconds(20));
  runFor(milliseconds(5000));
  EXPECT_EQ(fired_, 1);
  EXPECT_GE(fired_at_ - armed, milliseconds(20));
  EXPECT_LT(fired_at_ - armed, std::chrono::minutes(1));
}

TEST_F(LazyTimerTest, TheCallbackMayDestroyTheTimer) {
  struct Owner {
    std::unique_ptr<LazyTimer> timer;
    event_base* base;
    int fired = 0;
  } owner{nullptr, base_};
  owner.timer = std::make_unique<LazyTimer>(
      base_,
      [](void* arg) {
        auto* o = static_cast<Owner*>(arg);
        ++o->fired;
        o->timer.reset();
        event_base_loopbreak(o->base);
      },
      &owner);
  owner.timer->arm(milliseconds(0));
  runFor(milliseconds(5000));
  EXPECT_EQ(owner.fired, 1);
  EXPECT_EQ(owner.timer, nullptr);
}

}  // namespace
}  // namespace remora

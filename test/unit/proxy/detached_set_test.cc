// Tests for DetachedSet: work adopted stays until released, in any order, and clear() ends all.
#include "proxy/detached_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace remora {
namespace {

class CountedWork : public DetachedWork {
 public:
  explicit CountedWork(int& alive) : alive_(alive) { ++alive_; }
  ~CountedWork() override { --alive_; }

 private:
  int& alive_;
};

TEST(DetachedSetTest, ReleaseInAnyOrderKeepsTheOthers) {
  int alive = 0;
  DetachedSet set;
  std::vector<CountedWork*> works;
  for (int i = 0; i < 5; ++i) {
    auto work = std::make_unique<CountedWork>(alive);
    works.push_back(work.get());
    set.adopt(std::move(work));
  }
  EXPECT_EQ(set.size(), 5u);
  for (int i : {1, 4, 0}) {
    std::unique_ptr<DetachedWork> released = set.release(*works[static_cast<size_t>(i)]);
    EXPECT_EQ(released.get(), works[static_cast<size_t>(i)]);
    EXPECT_FALSE(set.holds(*released));
  }
  EXPECT_EQ(alive, 2);  // the released ones died with their unique_ptr
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.holds(*works[2]));
  EXPECT_TRUE(set.holds(*works[3]));
  set.release(*works[3]);
  set.release(*works[2]);
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(alive, 0);
}

TEST(DetachedSetTest, ClearEndsEverything) {
  int alive = 0;
  DetachedSet set;
  for (int i = 0; i < 3; ++i) set.adopt(std::make_unique<CountedWork>(alive));
  set.clear();
  EXPECT_EQ(alive, 0);
  EXPECT_EQ(set.size(), 0u);
}

}  // namespace
}  // namespace remora

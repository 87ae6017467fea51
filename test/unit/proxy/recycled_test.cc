// Recycled<T>: freed blocks come back for the next object of the same class on the same thread.
#include "proxy/recycled.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace remora {
namespace {

struct Item : Recycled<Item, 2> {
  virtual ~Item() = default;
  char payload[48] = {};
};

struct BiggerItem : Item {
  char more[64] = {};
};

TEST(Recycled, TheNextObjectReusesTheLastFreedBlock) {
  auto first = std::make_unique<Item>();
  void* address = first.get();
  first.reset();
  auto second = std::make_unique<Item>();
  if (REMORA_RECYCLE_MEMORY) {
    EXPECT_EQ(second.get(), address);
  } else {
    GTEST_SUCCEED() << "AddressSanitizer build: nothing is kept";
  }
}

TEST(Recycled, KeepsNoMoreThanItsLimit) {
  std::vector<std::unique_ptr<Item>> items;
  for (int i = 0; i < 4; ++i) items.push_back(std::make_unique<Item>());
  std::vector<void*> freed;
  for (auto& item : items) freed.push_back(item.get());
  items.clear();  // four freed, two kept: the last two freed
  std::vector<std::unique_ptr<Item>> again;
  for (int i = 0; i < 2; ++i) again.push_back(std::make_unique<Item>());
  if (REMORA_RECYCLE_MEMORY) {
    EXPECT_EQ(again[0].get(), freed[1]);
    EXPECT_EQ(again[1].get(), freed[0]);
  }
}

TEST(Recycled, ADerivedClassDeletedThroughTheBaseGoesToTheGlobalAllocator) {
  std::unique_ptr<Item> bigger = std::make_unique<BiggerItem>();
  void* address = bigger.get();
  bigger.reset();  // sized delete with sizeof(BiggerItem): not kept
  auto item = std::make_unique<Item>();
  if (REMORA_RECYCLE_MEMORY) {
    EXPECT_NE(item.get(), address);
  }
}

TEST(Recycled, AThreadKeepsNoMoreThanTheLimitForEachClass) {
  std::thread([] {
    {
      std::vector<std::unique_ptr<Item>> items;
      for (int i = 0; i < 5; ++i) items.push_back(std::make_unique<Item>());
    }
    EXPECT_EQ(Item::keptBlocks(), REMORA_RECYCLE_MEMORY ? 2u : 0u);
  }).join();
}

TEST(Recycled, EachThreadHasItsOwnList) {
  auto mine = std::make_unique<Item>();
  void* address = mine.get();
  mine.reset();
  void* theirs = nullptr;
  std::thread other([&] {
    auto item = std::make_unique<Item>();
    theirs = item.get();
  });
  other.join();
  if (REMORA_RECYCLE_MEMORY) {
    EXPECT_NE(theirs, address);
  }
}

}  // namespace
}  // namespace remora

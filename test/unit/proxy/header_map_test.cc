// Unit tests of HeaderMap: order, removal, copies and moves, and that fields recycled from earlier
// maps (the per-thread pool) never show through.
#include "proxy/header_map.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace remora {
namespace {

std::vector<std::string> fieldsOf(const HeaderMap& map) {
  std::vector<std::string> out;
  for (const HeaderField& field : map) out.push_back(field.name + ": " + field.value);
  return out;
}

using Fields = std::vector<std::string>;

TEST(HeaderMapTest, KeepsOrderAndFindsTheFirstValue) {
  HeaderMap map;
  map.add("a", "1");
  map.append("b", "2");
  map.add("a", "3");
  EXPECT_EQ(fieldsOf(map), (Fields{"a: 1", "b: 2", "a: 3"}));
  ASSERT_NE(map.get("a"), nullptr);
  EXPECT_EQ(*map.get("a"), "1");
  EXPECT_EQ(map.get("c"), nullptr);
  EXPECT_EQ(map.size(), 3u);
}

TEST(HeaderMapTest, RemoveAndSetKeepTheOthersInOrder) {
  HeaderMap map;
  for (const char* name : {"a", "b", "a", "c", "a"}) map.add(name, "v");
  EXPECT_EQ(map.remove("a"), 3u);
  EXPECT_EQ(fieldsOf(map), (Fields{"b: v", "c: v"}));
  map.set("b", "w");
  EXPECT_EQ(fieldsOf(map), (Fields{"c: v", "b: w"}));
  map.removeIf([](const HeaderField& f) { return f.name == "c"; });
  EXPECT_EQ(fieldsOf(map), (Fields{"b: w"}));
  // Fields added after removals reuse the removed ones' storage, never their text.
  map.append("d", "");
  map.add("e", "x");
  EXPECT_EQ(fieldsOf(map), (Fields{"b: w", "d: ", "e: x"}));
}

TEST(HeaderMapTest, ClearThenAppendShowsOnlyTheNewFields) {
  HeaderMap map;
  map.append("user-agent", "a rather long user agent string");
  map.append("accept", "*/*");
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
  map.append("host", "x");
  EXPECT_EQ(fieldsOf(map), (Fields{"host: x"}));
  EXPECT_EQ(map.get("accept"), nullptr);
}

TEST(HeaderMapTest, CopiesAndMovesCarryOnlyTheLiveFields) {
  HeaderMap map;
  for (const char* name : {"a", "b", "c"}) map.append(name, name);
  map.remove("b");
  HeaderMap copy = map;
  EXPECT_EQ(fieldsOf(copy), (Fields{"a: a", "c: c"}));
  HeaderMap assigned;
  assigned.append("z", "old");
  assigned.append("y", "old");
  assigned.append("x", "old");
  assigned = map;
  EXPECT_EQ(fieldsOf(assigned), (Fields{"a: a", "c: c"}));
  HeaderMap moved = std::move(copy);
  EXPECT_EQ(fieldsOf(moved), (Fields{"a: a", "c: c"}));
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  assigned = std::move(moved);
  EXPECT_EQ(fieldsOf(assigned), (Fields{"a: a", "c: c"}));
  copy.append("n", "1");  // a moved-from map is usable
  EXPECT_EQ(fieldsOf(copy), (Fields{"n: 1"}));
}

TEST(HeaderMapTest, AMapMadeAfterOthersDiedStartsEmpty) {
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<HeaderMap>> maps;
    for (int i = 0; i < 100; ++i) {
      auto map = std::make_unique<HeaderMap>();
      for (int f = 0; f < i % 40; ++f) {
        map->append("name-" + std::to_string(f), std::string(static_cast<size_t>(f * 20), 'v'));
      }
      maps.push_back(std::move(map));
    }
    maps.clear();  // their vectors go to the pool (some of them)
    HeaderMap fresh;
    EXPECT_TRUE(fresh.empty());
    fresh.reserve(8);
    EXPECT_TRUE(fresh.empty());
    EXPECT_EQ(fresh.begin(), fresh.end());
    fresh.append("k", "v");
    EXPECT_EQ(fieldsOf(fresh), (Fields{"k: v"}));
  }
}

// In a thread of its own, so that the pool starts empty. Nothing is kept under AddressSanitizer.
TEST(HeaderMapTest, ThePoolKeepsAtMost64VectorsOfAtMost32Fields) {
  std::thread([] {
    {
      std::vector<HeaderMap> maps(70);
      for (HeaderMap& map : maps) map.append("k", "v");
    }
    EXPECT_EQ(HeaderMap::keptFieldVectors(), REMORA_RECYCLE_MEMORY ? 64u : 0u);
  }).join();
  std::thread([] {
    {
      HeaderMap many;
      for (int f = 0; f < 33; ++f) many.append("name-" + std::to_string(f), "v");
    }
    EXPECT_EQ(HeaderMap::keptFieldVectors(), 0u);
    {
      HeaderMap long_value;  // kept, its 1,000-byte value's memory freed
      long_value.append("cookie", std::string(1000, 'c'));
    }
    EXPECT_EQ(HeaderMap::keptFieldVectors(), REMORA_RECYCLE_MEMORY ? 1u : 0u);
    HeaderMap next;
    next.append("a", "b");
    EXPECT_EQ(fieldsOf(next), (Fields{"a: b"}));
  }).join();
}

}  // namespace
}  // namespace remora

// Unit tests of HeaderMap: order, removal, copies and moves, and that blocks recycled from earlier
// maps (the per-thread size-class lists) never show through.
#include "proxy/header_map.h"

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/size_class_memory.h"

namespace remora {
namespace {

std::vector<std::string> fieldsOf(const HeaderMap& map) {
  std::vector<std::string> out;
  for (const HeaderField& field : map)
    out.push_back(std::string(field.name) + ": " + std::string(field.value));
  return out;
}

using Fields = std::vector<std::string>;

TEST(HeaderMapTest, KeepsOrderAndFindsTheFirstValue) {
  HeaderMap map;
  map.add("a", "1");
  map.add("b", "2");
  map.add("a", "3");
  EXPECT_EQ(fieldsOf(map), (Fields{"a: 1", "b: 2", "a: 3"}));
  ASSERT_TRUE(map.get("a"));
  EXPECT_EQ(*map.get("a"), "1");
  EXPECT_FALSE(map.get("c"));
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
  // Fields added after removals never show the removed ones' text.
  map.add("d", "");
  map.add("e", "x");
  EXPECT_EQ(fieldsOf(map), (Fields{"b: w", "d: ", "e: x"}));
}

TEST(HeaderMapTest, ClearThenAppendShowsOnlyTheNewFields) {
  HeaderMap map;
  map.add("user-agent", "a rather long user agent string");
  map.add("accept", "*/*");
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
  map.add("host", "x");
  EXPECT_EQ(fieldsOf(map), (Fields{"host: x"}));
  EXPECT_FALSE(map.get("accept"));
}

TEST(HeaderMapTest, CopiesAndMovesCarryOnlyTheLiveFields) {
  HeaderMap map;
  for (const char* name : {"a", "b", "c"}) map.add(name, name);
  map.remove("b");
  HeaderMap copy = map;
  EXPECT_EQ(fieldsOf(copy), (Fields{"a: a", "c: c"}));
  HeaderMap assigned;
  assigned.add("z", "old");
  assigned.add("y", "old");
  assigned.add("x", "old");
  assigned = map;
  EXPECT_EQ(fieldsOf(assigned), (Fields{"a: a", "c: c"}));
  HeaderMap moved = std::move(copy);
  EXPECT_EQ(fieldsOf(moved), (Fields{"a: a", "c: c"}));
  EXPECT_TRUE(copy.empty());  // a moved-from map is empty
  assigned = std::move(moved);
  EXPECT_EQ(fieldsOf(assigned), (Fields{"a: a", "c: c"}));
  copy.add("n", "1");  // a moved-from map is usable
  EXPECT_EQ(fieldsOf(copy), (Fields{"n: 1"}));
}

TEST(HeaderMapTest, AMapMadeAfterOthersDiedStartsEmpty) {
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<HeaderMap>> maps;
    for (int i = 0; i < 100; ++i) {
      auto map = std::make_unique<HeaderMap>();
      for (int f = 0; f < i % 40; ++f) {
        map->add("name-" + std::to_string(f), std::string(static_cast<size_t>(f * 20), 'v'));
      }
      maps.push_back(std::move(map));
    }
    maps.clear();  // their vectors go to the pool (some of them)
    HeaderMap fresh;
    EXPECT_TRUE(fresh.empty());
    EXPECT_EQ(fresh.begin(), fresh.end());
    fresh.add("k", "v");
    EXPECT_EQ(fieldsOf(fresh), (Fields{"k: v"}));
  }
}

TEST(HeaderMapTest, AFieldMayBeAddedOrSetFromTheMapsOwnText) {
  HeaderMap map;
  map.add("a", "first");
  // Each addition doubles the text, so the buffer moves while the value is read from it.
  for (int i = 0; i < 12; ++i) {
    const HeaderField last = *std::next(map.begin(), static_cast<std::ptrdiff_t>(map.size() - 1));
    map.add(last.name, last.value);
    map.add("b", std::string(static_cast<size_t>(64 << i), 'x'));
  }
  EXPECT_EQ(map.size(), 25u);
  EXPECT_EQ(*map.get("a"), "first");
  // The value is the text of the very field set() removes.
  map.set("a", *map.get("a"));
  EXPECT_EQ(map.remove("a"), 1u);
  map.add("c", "3");
  map.set("c", *map.get("c"));
  map.set("d", *map.get("c"));
  EXPECT_EQ(*map.get("c"), "3");
  EXPECT_EQ(*map.get("d"), "3");
}

TEST(HeaderMapTest, AddLowercasingNameLowercasesOnlyTheName) {
  HeaderMap map;
  map.addLowercasingName("X-Forwarded-FOR-Longer-Than-Eight", "MiXeD Value");
  map.addLowercasingName("Host", "A");
  EXPECT_EQ(fieldsOf(map), (Fields{"x-forwarded-for-longer-than-eight: MiXeD Value", "host: A"}));
}

TEST(HeaderMapTest, AssignParsedReplacesTheFieldsWithViewsOfOneText) {
  HeaderMap map;
  map.add("old", "gone");
  const std::string text = "Host: a.example\r\nX-Trace-ID:  Ab1 \r\nAccept: */*";
  const std::string_view view = text;
  const HeaderField fields[] = {{view.substr(0, 4), view.substr(6, 9)},
                                {view.substr(17, 10), view.substr(30, 3)},
                                {view.substr(36, 6), view.substr(44, 3)}};
  map.assignParsed(text, fields);
  EXPECT_EQ(fieldsOf(map), (Fields{"host: a.example", "x-trace-id: Ab1", "accept: */*"}));
  EXPECT_EQ(text.substr(0, 4), "Host");  // the parsed text itself is left alone
  map.add("via", "1.1 remora");
  EXPECT_EQ(*map.get("via"), "1.1 remora");
}

// Lookups of absent names end on the map's name bits; these must never hide a field, whatever
// way it came in (added, set, lowercased, parsed, copied, moved) and after removals and clears.
TEST(HeaderMapTest, EveryFieldIsFoundHoweverItCameIn) {
  HeaderMap map;
  map.add("connection", "close");
  map.set("x-request-id", "r1");
  map.addLowercasingName("Upgrade", "websocket");
  EXPECT_EQ(*map.get("connection"), "close");
  EXPECT_EQ(*map.get("x-request-id"), "r1");
  EXPECT_EQ(*map.get("upgrade"), "websocket");
  EXPECT_TRUE(map.hasToken("connection", "CLOSE"));
  EXPECT_FALSE(map.get("expect"));
  EXPECT_FALSE(map.hasToken("te", "trailers"));

  EXPECT_EQ(map.remove("connection"), 1u);
  EXPECT_FALSE(map.get("connection"));
  EXPECT_EQ(*map.get("upgrade"), "websocket");

  HeaderMap copy(map);
  EXPECT_EQ(*copy.get("x-request-id"), "r1");
  HeaderMap moved(std::move(copy));
  EXPECT_EQ(*moved.get("upgrade"), "websocket");
  EXPECT_FALSE(copy.get("upgrade"));  // a moved-from map is empty

  const std::string text = "Expect: 100-continue\r\nTE: trailers";
  const std::string_view view = text;
  const HeaderField fields[] = {{view.substr(0, 6), view.substr(8, 12)},
                                {view.substr(22, 2), view.substr(26, 8)}};
  moved.assignParsed(text, fields);
  EXPECT_FALSE(moved.get("upgrade"));
  EXPECT_EQ(*moved.get("expect"), "100-continue");
  EXPECT_TRUE(moved.hasToken("te", "trailers"));
  moved.clear();
  EXPECT_FALSE(moved.get("expect"));
  moved.add("expect", "again");
  EXPECT_EQ(*moved.get("expect"), "again");
}

TEST(HeaderMapTest, CaseIsIgnoredForAsciiLettersOnlyAtEveryLength) {
  const std::string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789@[`{";
  const std::string lower = "abcdefghijklmnopqrstuvwxyz-0123456789@[`{";
  for (size_t size = 0; size <= upper.size(); ++size) {
    std::string text = upper.substr(0, size);
    EXPECT_TRUE(equalsIgnoreCase(text, lower.substr(0, size))) << size;
    lowercaseAscii(text.data(), text.size());
    EXPECT_EQ(text, lower.substr(0, size));
    if (size == 0) continue;
    // A difference in the last byte (the overlapping last word) is seen.
    std::string other = lower.substr(0, size);
    other.back() ^= 1;
    EXPECT_FALSE(equalsIgnoreCase(upper.substr(0, size), other)) << size;
  }
  // '@' and '[' border 'A'..'Z', as '`' and '{' border 'a'..'z': none is a letter's case.
  EXPECT_FALSE(equalsIgnoreCase("@[", "`{"));
  // A byte of 0x80 or more is no letter, even where its low seven bits spell one.
  std::string high = "\xC1\xDA\xC1\xDA\xC1\xDA\xC1\xDA\xC1";
  lowercaseAscii(high.data(), high.size());
  EXPECT_EQ(high, "\xC1\xDA\xC1\xDA\xC1\xDA\xC1\xDA\xC1");
  EXPECT_FALSE(
      equalsIgnoreCase("\xC1\xC1\xC1\xC1\xC1\xC1\xC1\xC1", "\xE1\xE1\xE1\xE1\xE1\xE1\xE1\xE1"));
}

// In a thread of its own, so that the size-class lists start empty. Nothing is kept under
// AddressSanitizer, where blocks come from malloc.
TEST(HeaderMapTest, AMapsBlockGoesBackToTheThreadsSizeClassLists) {
  std::thread([] {
    {
      HeaderMap usual;
      usual.add("k", "v");
    }
    EXPECT_EQ(size_class_memory::keptBytes(512), REMORA_RECYCLE_MEMORY ? 512u : 0u);
    {
      HeaderMap again;  // takes the kept block
      again.add("a", "b");
      EXPECT_EQ(size_class_memory::keptBytes(512), 0u);
      EXPECT_EQ(fieldsOf(again), (Fields{"a: b"}));
    }
    {
      HeaderMap big;
      big.add("cookie", std::string(5000, 'c'));
    }
    EXPECT_EQ(size_class_memory::keptBytes(8192), REMORA_RECYCLE_MEMORY ? 8192u : 0u);
  }).join();
}

}  // namespace
}  // namespace remora

// Tests for duration strings.
#include "config/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace remora::config {
namespace {

using ::testing::HasSubstr;

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(*parseDuration("250ms"), Duration{250});
  EXPECT_EQ(*parseDuration("5s"), Duration{5000});
  EXPECT_EQ(*parseDuration("1m"), Duration{60000});
  EXPECT_EQ(*parseDuration("1h"), Duration{3600000});
}

TEST(DurationTest, ParsesFractionsAndZero) {
  EXPECT_EQ(*parseDuration("1.5s"), Duration{1500});
  EXPECT_EQ(*parseDuration("0.25m"), Duration{15000});
  EXPECT_EQ(*parseDuration("0s"), Duration{0});
  EXPECT_EQ(*parseDuration("0"), Duration{0});
  EXPECT_EQ(*parseDuration("0ms"), Duration{0});
}

TEST(DurationTest, RejectsNegativeGarbageAndMissingUnits) {
  EXPECT_THAT(parseDuration("-1s").errors()[0].message, HasSubstr("negative"));
  EXPECT_THAT(parseDuration("5").errors()[0].message, HasSubstr("missing unit"));
  EXPECT_THAT(parseDuration("1.5").errors()[0].message, HasSubstr("missing unit"));
  EXPECT_THAT(parseDuration("5x").errors()[0].message, HasSubstr("unknown unit 'x'"));
  EXPECT_THAT(parseDuration("5 s").errors()[0].message, HasSubstr("unknown unit"));
  EXPECT_THAT(parseDuration("s").errors()[0].message, HasSubstr("expected a number"));
  EXPECT_THAT(parseDuration("").errors()[0].message, HasSubstr("expected a number"));
  EXPECT_THAT(parseDuration(".5s").errors()[0].message, HasSubstr("expected a number"));
  EXPECT_THAT(parseDuration("1.s").errors()[0].message, HasSubstr("digits after '.'"));
  EXPECT_THAT(parseDuration("1.5ms").errors()[0].message, HasSubstr("finer than"));
  EXPECT_THAT(parseDuration("99999999999999999999h").errors()[0].message, HasSubstr("too large"));
  EXPECT_THAT(parseDuration("9999999999999h").errors()[0].message, HasSubstr("too large"));
}

TEST(DurationTest, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(Duration{0}), "0s");
  EXPECT_EQ(formatDuration(Duration{250}), "250ms");
  EXPECT_EQ(formatDuration(Duration{1500}), "1500ms");
  EXPECT_EQ(formatDuration(Duration{30000}), "30s");
  EXPECT_EQ(formatDuration(Duration{120000}), "2m");
  EXPECT_EQ(formatDuration(Duration{7200000}), "2h");
}

TEST(DurationTest, FormatRoundTrips) {
  for (int64_t ms : {0, 1, 999, 1000, 61000, 3600000, 3600001}) {
    EXPECT_EQ(*parseDuration(formatDuration(Duration{ms})), Duration{ms});
  }
}

}  // namespace
}  // namespace remora::config

// Tests for byte sizes.
#include "config/size.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace remora::config {
namespace {

using ::testing::HasSubstr;

TEST(SizeTest, ParsesPlainAndSuffixed) {
  EXPECT_EQ(*parseSize("65536"), 65536u);
  EXPECT_EQ(*parseSize("60KiB"), 60u * 1024);
  EXPECT_EQ(*parseSize("2MiB"), 2u * 1024 * 1024);
  EXPECT_EQ(*parseSize("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(*parseSize("0"), 0u);
}

TEST(SizeTest, RejectsBadSizes) {
  EXPECT_THAT(parseSize("-1").errors()[0].message, HasSubstr("negative"));
  EXPECT_THAT(parseSize("60KB").errors()[0].message, HasSubstr("unknown unit 'KB'"));
  EXPECT_THAT(parseSize("60 KiB").errors()[0].message, HasSubstr("unknown unit"));
  EXPECT_THAT(parseSize("KiB").errors()[0].message, HasSubstr("expected an integer"));
  EXPECT_THAT(parseSize("").errors()[0].message, HasSubstr("expected an integer"));
  EXPECT_THAT(parseSize("1.5KiB").errors()[0].message, HasSubstr("unknown unit"));
  EXPECT_THAT(parseSize("99999999999999999999999").errors()[0].message, HasSubstr("too large"));
  EXPECT_THAT(parseSize("2000GiB").errors()[0].message, HasSubstr("too large"));
}

}  // namespace
}  // namespace remora::config

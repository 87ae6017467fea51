// Tests for ${VAR} expansion.
#include "config/env_expand.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace remora::config {
namespace {

using ::testing::HasSubstr;

class EnvExpandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("REMORA_TEST_SET", "10.0.0.7", 1);
    setenv("REMORA_TEST_EMPTY", "", 1);
    unsetenv("REMORA_TEST_UNSET");
  }
  void TearDown() override {
    unsetenv("REMORA_TEST_SET");
    unsetenv("REMORA_TEST_EMPTY");
  }
};

TEST_F(EnvExpandTest, LeavesPlainTextAlone) {
  EXPECT_EQ(*expandEnv("plain text"), "plain text");
  EXPECT_EQ(*expandEnv(""), "");
}

TEST_F(EnvExpandTest, ExpandsSetVariables) {
  EXPECT_EQ(*expandEnv("${REMORA_TEST_SET}"), "10.0.0.7");
  EXPECT_EQ(*expandEnv("${REMORA_TEST_SET}:8080"), "10.0.0.7:8080");
  EXPECT_EQ(*expandEnv("a${REMORA_TEST_SET}b${REMORA_TEST_SET}"), "a10.0.0.7b10.0.0.7");
}

TEST_F(EnvExpandTest, SetButEmptyExpandsToEmpty) {
  EXPECT_EQ(*expandEnv("[${REMORA_TEST_EMPTY}]"), "[]");
}

TEST_F(EnvExpandTest, DefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(*expandEnv("${REMORA_TEST_UNSET:-127.0.0.1}"), "127.0.0.1");
  EXPECT_EQ(*expandEnv("${REMORA_TEST_EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(*expandEnv("${REMORA_TEST_SET:-fallback}"), "10.0.0.7");
  EXPECT_EQ(*expandEnv("${REMORA_TEST_UNSET:-}"), "");
}

TEST_F(EnvExpandTest, DoubleDollarIsLiteral) {
  EXPECT_EQ(*expandEnv("$$"), "$");
  EXPECT_EQ(*expandEnv("price: $$5"), "price: $5");
  EXPECT_EQ(*expandEnv("$${REMORA_TEST_SET}"), "${REMORA_TEST_SET}");
}

TEST_F(EnvExpandTest, LoneDollarStays) {
  EXPECT_EQ(*expandEnv("$"), "$");
  EXPECT_EQ(*expandEnv("a$b"), "a$b");
  EXPECT_EQ(*expandEnv("^/v1/.*$"), "^/v1/.*$");
}

TEST_F(EnvExpandTest, UnsetWithoutDefaultNamesTheVariable) {
  Result<std::string> result = expandEnv("${REMORA_TEST_UNSET}");
  ASSERT_FALSE(result.ok());
  ASSERT_EQ(result.errors().size(), 1u);
  EXPECT_THAT(result.errors()[0].message, HasSubstr("'REMORA_TEST_UNSET' is not set"));
  EXPECT_TRUE(result.errors()[0].where.file.empty());
}

TEST_F(EnvExpandTest, RejectsMalformedReferences) {
  EXPECT_THAT(expandEnv("${REMORA_TEST_SET").errors()[0].message, HasSubstr("unterminated"));
  EXPECT_THAT(expandEnv("${}").errors()[0].message, HasSubstr("invalid environment variable"));
  EXPECT_THAT(expandEnv("${1X}").errors()[0].message, HasSubstr("invalid environment variable"));
  EXPECT_THAT(expandEnv("${A-B}").errors()[0].message, HasSubstr("invalid environment variable"));
}

}  // namespace
}  // namespace remora::config

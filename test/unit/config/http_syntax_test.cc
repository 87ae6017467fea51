// Tests for the RFC 9110 token test and ASCII lowercasing that config and the codecs share.
#include "config/http_syntax.h"

#include <gtest/gtest.h>

namespace remora {
namespace {

TEST(HttpSyntaxTest, TokensAreNonEmptyRunsOfTchar) {
  EXPECT_TRUE(isToken("GET"));
  EXPECT_TRUE(isToken("x-request-id"));
  EXPECT_TRUE(isToken("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(isToken(""));
  EXPECT_FALSE(isToken("bad header"));
  EXPECT_FALSE(isToken("colon:"));
  EXPECT_FALSE(isToken(std::string_view("nul\0", 4)));
  EXPECT_FALSE(isToken("caf\xc3\xa9"));
}

TEST(HttpSyntaxTest, LowercasesAsciiOnly) {
  EXPECT_EQ(toLower("X-Forwarded-For"), "x-forwarded-for");
  EXPECT_EQ(toLower("\xc3\x89T\xc3\x89"), "\xc3\x89t\xc3\x89");
  EXPECT_EQ(toLower(""), "");
}

}  // namespace
}  // namespace remora

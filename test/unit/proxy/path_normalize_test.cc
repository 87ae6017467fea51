// Unit tests of request path dot-segment removal.
#include "proxy/path_normalize.h"

#include <gtest/gtest.h>

namespace remora {
namespace {

TEST(PathNormalizeTest, LeavesOrdinaryPathsAlone) {
  EXPECT_EQ(normalizePath("/"), "/");
  EXPECT_EQ(normalizePath("/a/b?x=../y"), "/a/b?x=../y");
  EXPECT_EQ(normalizePath("/a/.well-known/b"), "/a/.well-known/b");
  EXPECT_EQ(normalizePath("/a/..b/c"), "/a/..b/c");
  EXPECT_EQ(normalizePath("/a//b"), "/a//b");
  EXPECT_EQ(normalizePath("*"), "*");
  EXPECT_EQ(normalizePath("/a%2Fb"), "/a%2Fb");
}

TEST(PathNormalizeTest, RemovesDotSegments) {
  EXPECT_EQ(normalizePath("/public/../admin"), "/admin");
  EXPECT_EQ(normalizePath("/a/./b/../c"), "/a/c");
  EXPECT_EQ(normalizePath("/../../x"), "/x");
  EXPECT_EQ(normalizePath("/a/b/.."), "/a/");
  EXPECT_EQ(normalizePath("/a/."), "/a/");
  EXPECT_EQ(normalizePath("/.."), "/");
  EXPECT_EQ(normalizePath("/a/../b?q=1"), "/b?q=1");
}

TEST(PathNormalizeTest, EncodedDotsCountAsDots) {
  EXPECT_EQ(normalizePath("/public/%2e%2e/admin"), "/admin");
  EXPECT_EQ(normalizePath("/public/%2E./admin"), "/admin");
  EXPECT_EQ(normalizePath("/public/.%2e/admin"), "/admin");
  EXPECT_EQ(normalizePath("/a/%2e/b"), "/a/b");
}

TEST(PathNormalizeTest, IntoAStringThatMayBeItsOwnTarget) {
  std::string path = "/a/../b?q=1";
  normalizePath(path, path);
  EXPECT_EQ(path, "/b?q=1");
  path = "/kept/as/is?x=1";
  normalizePath(path, path);
  EXPECT_EQ(path, "/kept/as/is?x=1");
  normalizePath(std::string_view(path).substr(0, 5), path);  // a view of its start
  EXPECT_EQ(path, "/kept");
  std::string other = "old text";
  normalizePath("/c/./d", other);
  EXPECT_EQ(other, "/c/d");
}

}  // namespace
}  // namespace remora

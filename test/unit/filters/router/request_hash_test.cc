// Unit tests of request keys for consistent hashing: each source, the first that yields winning,
// a made-up cookie with its Set-Cookie, and query parameters.
#include "filters/router/request_hash.h"

#include <gtest/gtest.h>

#include "proxy/lb/stable_hash.h"

namespace remora::router {
namespace {

config::HashPolicy policy(config::HashPolicy::Kind kind, std::string name = "",
                          config::Duration ttl = config::Duration(0)) {
  config::HashPolicy p;
  p.kind = kind;
  p.name = std::move(name);
  p.cookie_ttl = ttl;
  return p;
}

RequestHeaders request(std::string path, std::vector<std::pair<std::string, std::string>> fields) {
  RequestHeaders r;
  r.method = "GET";
  r.path = std::move(path);
  for (auto& [name, value] : fields) r.headers.add(name, value);
  return r;
}

using Kind = config::HashPolicy::Kind;

TEST(RequestHash, TheFirstSourceThatYieldsAKeyWins) {
  const std::vector<config::HashPolicy> policies = {
      policy(Kind::Header, "x-user"), policy(Kind::Query, "user"), policy(Kind::SourceIp)};
  EXPECT_EQ(
      hashRequest(policies, request("/?user=bob", {{"x-user", "alice"}}), "10.1.1.1:5000").hash,
      stableHash("alice"));
  EXPECT_EQ(hashRequest(policies, request("/a?x=1&user=bob", {}), "10.1.1.1:5000").hash,
            stableHash("bob"));
  EXPECT_EQ(hashRequest(policies, request("/", {}), "10.1.1.1:5000").hash, stableHash("10.1.1.1"));
  EXPECT_EQ(hashRequest(policies, request("/", {}), "[::1]:5000").hash, stableHash("::1"));
  EXPECT_FALSE(hashRequest({policy(Kind::Header, "x-user")}, request("/", {}), "").hash);
}

TEST(RequestHash, ACookieIsReadOrMadeUpAndSet) {
  const std::vector<config::HashPolicy> with_ttl = {
      policy(Kind::Cookie, "sid", config::Duration(3600000))};
  const RequestHash sent =
      hashRequest(with_ttl, request("/", {{"cookie", "a=1; sid=xyz; b=2"}}), "");
  EXPECT_EQ(sent.hash, stableHash("xyz"));
  EXPECT_EQ(sent.set_cookie, "");
  const RequestHash made = hashRequest(with_ttl, request("/", {}), "");
  ASSERT_TRUE(made.hash);
  ASSERT_TRUE(made.set_cookie.starts_with("sid=")) << made.set_cookie;
  EXPECT_NE(made.set_cookie.find("; Max-Age=3600; Path=/; HttpOnly"), std::string::npos);
  // The made-up value is the key: sent back, it lands where this request did.
  const std::string value = made.set_cookie.substr(4, made.set_cookie.find(';') - 4);
  EXPECT_EQ(hashRequest(with_ttl, request("/", {{"cookie", "sid=" + value}}), "").hash, made.hash);
  // Without a ttl, no cookie: no key from it.
  EXPECT_FALSE(hashRequest({policy(Kind::Cookie, "sid")}, request("/", {}), "").hash);
}

TEST(RequestHash, QueryValues) {
  bool found = false;
  EXPECT_EQ(queryValue("/p?a=1&user=carol&b", "user", found), "carol");
  EXPECT_TRUE(found);
  EXPECT_EQ(queryValue("/p?a=1&b", "b", found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(queryValue("/p?username=x", "user", found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(queryValue("/p", "user", found), "");
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace remora::router

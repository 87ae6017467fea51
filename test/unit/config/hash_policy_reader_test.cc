// Tests for a route's `hash:` and a cluster's ring_hash settings: every source, and each error
// with its place.
#include "config/hash_policy_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::HasSubstr;
using testing::loadOk;

// A route to `users` (lb and ring_hash from `cluster_lines`) with `hash:` from line 8 on.
std::string withHash(const std::string& hash_lines,
                     const std::string& cluster_lines = "    lb: maglev\n") {
  return R"(listeners:
  - name: edge
    address: 127.0.0.1:0
    routes:
      - match: {prefix: /}
        cluster: users
        hash:
)" + hash_lines +
         "clusters:\n  - name: users\n    endpoints: [127.0.0.1:8080]\n" + cluster_lines;
}

TEST(HashPolicyReaderTest, ReadsEverySource) {
  auto config = loadOk(withHash(R"(          - header: X-User
          - cookie: {name: sid, ttl: 1h}
          - cookie: plain
          - source_ip: true
          - query: user
)"));
  const auto& hash = config->listeners[0].virtual_hosts[0].routes[0].hash;
  ASSERT_EQ(hash.size(), 5u);
  EXPECT_EQ(hash[0].kind, HashPolicy::Kind::Header);
  EXPECT_EQ(hash[0].name, "x-user");
  EXPECT_EQ(hash[1].kind, HashPolicy::Kind::Cookie);
  EXPECT_EQ(hash[1].name, "sid");
  EXPECT_EQ(hash[1].cookie_ttl, Duration(3600000));
  EXPECT_EQ(hash[2].name, "plain");
  EXPECT_EQ(hash[2].cookie_ttl, Duration(0));
  EXPECT_EQ(hash[3].kind, HashPolicy::Kind::SourceIp);
  EXPECT_EQ(hash[4].kind, HashPolicy::Kind::Query);
  EXPECT_EQ(hash[4].name, "user");
  EXPECT_EQ(config->clusters[0].lb, LbPolicy::Maglev);
}

TEST(HashPolicyReaderTest, BadEntriesAreErrorsWithTheirPlace) {
  EXPECT_THAT(errorsOf(withHash(R"(          - {header: a, query: b}
          - cookie: {ttl: 1h}
          - cookie: {name: s, ttl: 100ms}
          - source_ip: false
          - path: /
)")),
              ElementsAre(HasSubstr("t.yaml:8:13: a hash entry takes exactly one of header"),
                          HasSubstr("t.yaml:9:21: cookie is missing required key 'name'"),
                          HasSubstr("t.yaml:10:36: a hash cookie's ttl must be 1s to 366d"),
                          HasSubstr("t.yaml:11:24: source_ip: false hashes nothing"),
                          HasSubstr("t.yaml:12:13: unknown key 'path' in hash entry")));
}

TEST(HashPolicyReaderTest, RingHashSettingsNeedRingHash) {
  auto config = loadOk(withHash("          - header: x\n",
                                "    lb: ring_hash\n    ring_hash: {min_ring_size: 4096, "
                                "balance_factor: 1.25}\n"));
  EXPECT_EQ(config->clusters[0].lb, LbPolicy::RingHash);
  EXPECT_EQ(config->clusters[0].ring_hash.min_ring_size, 4096u);
  EXPECT_DOUBLE_EQ(config->clusters[0].ring_hash.balance_factor, 1.25);
  EXPECT_THAT(errorsOf(withHash("          - header: x\n",
                                "    lb: maglev\n    ring_hash: {balance_factor: 0.5}\n")),
              ElementsAre(HasSubstr("t.yaml:13:5: ring_hash settings need lb: ring_hash"),
                          HasSubstr("t.yaml:13:33: balance_factor must be in 1..100, not 0.5")));
}

}  // namespace
}  // namespace remora::config

// Tests for the etcd gateway's JSON: base64, range ends, ranges, watch lines, leases, instances.
#include "discovery/etcd/etcd_json.h"

#include <gtest/gtest.h>

namespace remora::discovery::etcd {
namespace {

TEST(EtcdJsonTest, Base64RoundTrips) {
  const std::vector<std::string> texts = {
      "", "a", "ab", "abc", "/services/users/", std::string("\0\xff", 2)};
  for (const std::string& text : texts) {
    EXPECT_EQ(base64Decode(base64Encode(text)), text);
  }
  EXPECT_EQ(base64Encode("/services/"), "L3NlcnZpY2VzLw==");
  EXPECT_FALSE(base64Decode("abc").has_value());
  EXPECT_FALSE(base64Decode("ab=c").has_value());
  EXPECT_FALSE(base64Decode("a*==").has_value());
  // Only the canonical form: the bits after the last byte are zero.
  EXPECT_EQ(base64Decode("sA=="), "\xb0");
  EXPECT_FALSE(base64Decode("sB==").has_value());
  EXPECT_EQ(base64Decode("sAA="), std::string("\xb0\x00", 2));
  EXPECT_FALSE(base64Decode("sAB=").has_value());
}

TEST(EtcdJsonTest, PrefixRangeEnd) {
  EXPECT_EQ(prefixRangeEnd("foo"), "fop");
  EXPECT_EQ(prefixRangeEnd("/services/"), "/services0");
  EXPECT_EQ(prefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefixRangeEnd(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdJsonTest, RangeReplyWithStringInt64s) {
  std::string error;
  auto reply = parseRangeReply(R"({"header":{"revision":"42"},"kvs":[{"key":")" +
                                   base64Encode("/s/users/a") + R"(","value":")" +
                                   base64Encode("{}") + R"(","mod_revision":"40"}],"count":"1"})",
                               error);
  ASSERT_TRUE(reply) << error;
  EXPECT_EQ(reply->revision, 42);
  ASSERT_EQ(reply->kvs.size(), 1u);
  EXPECT_EQ(reply->kvs[0].key, "/s/users/a");
  EXPECT_EQ(reply->kvs[0].mod_revision, 40);
  // No kvs at all (the gateway leaves empty lists out).
  EXPECT_TRUE(parseRangeReply(R"({"header":{"revision":"7"}})", error));
  EXPECT_FALSE(parseRangeReply(R"({"header":{}})", error));
  EXPECT_FALSE(parseRangeReply(R"({"header":{"revision":"x"}})", error));
  EXPECT_FALSE(parseRangeReply(R"({"header":{"revision":"1"},"kvs":{}})", error));
  EXPECT_FALSE(parseRangeReply("[]", error));
  EXPECT_FALSE(parseRangeReply("{", error));
}

TEST(EtcdJsonTest, WatchLines) {
  std::string error;
  auto created =
      parseWatchMessage(R"({"result":{"header":{"revision":"5"},"created":true}})", error);
  ASSERT_TRUE(created) << error;
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->revision, 5);

  const std::string key = base64Encode("/s/users/a");
  auto events = parseWatchMessage(
      R"({"result":{"header":{"revision":"9"},"events":[{"kv":{"key":")" + key +
          R"(","value":"e30=","mod_revision":"8"}},{"type":"DELETE","kv":{"key":")" + key +
          R"(","mod_revision":"9"}}]}})",
      error);
  ASSERT_TRUE(events) << error;
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_FALSE(events->events[0].deleted);  // a PUT has no `type`
  EXPECT_EQ(events->events[0].kv.value, "{}");
  EXPECT_TRUE(events->events[1].deleted);

  auto compacted = parseWatchMessage(
      R"({"result":{"header":{"revision":"20"},"canceled":true,"compact_revision":"15"}})", error);
  ASSERT_TRUE(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 15);

  auto failure = parseWatchMessage(R"({"error":{"grpc_code":14,"message":"unavailable"}})", error);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->error, "unavailable");

  EXPECT_FALSE(parseWatchMessage(R"({"result":{"events":[{"type":"PUT"}]}})", error));
  EXPECT_FALSE(parseWatchMessage(R"({"result":{"events":[{"kv":{"key":"!!"}}]}})", error));
  EXPECT_FALSE(parseWatchMessage(R"({"nothing":1})", error));
}

TEST(EtcdJsonTest, LeaseReplies) {
  std::string error;
  auto grant = parseLeaseReply(R"({"header":{},"ID":"7587","TTL":"10"})", error);
  ASSERT_TRUE(grant) << error;
  EXPECT_EQ(grant->id, "7587");
  EXPECT_EQ(grant->ttl, 10);
  auto alive = parseLeaseReply(R"({"result":{"header":{},"ID":"7587","TTL":"9"}})", error);
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->ttl, 9);
  // A lease that is gone answers without a TTL.
  auto gone = parseLeaseReply(R"({"result":{"header":{},"ID":"7587"}})", error);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->ttl, 0);
}

TEST(EtcdJsonTest, Instances) {
  std::string error;
  auto endpoint = parseInstance(
      R"({"Addr":"10.0.0.1:8080","Metadata":{"version":"v2","weight":"5","canary":true}})", error);
  ASSERT_TRUE(endpoint) << error;
  EXPECT_EQ(endpoint->endpoint.address.text(), "10.0.0.1:8080");
  EXPECT_EQ(endpoint->endpoint.weight, 5u);
  EXPECT_EQ(endpoint->endpoint.meta.at("version"), "v2");
  EXPECT_EQ(endpoint->endpoint.meta.at("canary"), "true");
  EXPECT_TRUE(endpoint->healthy);

  auto drained = parseInstance(R"({"Addr":"10.0.0.1:8080","Metadata":{"weight":0}})", error);
  ASSERT_TRUE(drained);
  EXPECT_FALSE(drained->healthy);
  EXPECT_EQ(drained->health_reason, "drained (weight 0)");

  EXPECT_FALSE(parseInstance(R"({"Metadata":{}})", error));
  EXPECT_FALSE(parseInstance(R"({"Addr":"no-port"})", error));
  EXPECT_FALSE(parseInstance(R"({"Addr":"a:1","Metadata":{"weight":"-1"}})", error));
  EXPECT_FALSE(parseInstance("garbage", error));

  auto encoded = parseInstance(encodeInstance("::1", 15006, {{"version", "v1"}}), error);
  ASSERT_TRUE(encoded) << error;
  EXPECT_EQ(encoded->endpoint.address.text(), "[::1]:15006");
}

}  // namespace
}  // namespace remora::discovery::etcd

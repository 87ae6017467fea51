// Tests for host:port addresses.
#include "config/address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace remora::config {
namespace {

using ::testing::HasSubstr;

TEST(AddressTest, ParsesIpv4AndNames) {
  Result<Address> a = parseAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  Result<Address> b = parseAddress("users.service.consul:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "users.service.consul");
  EXPECT_EQ(b->port, 80);
}

TEST(AddressTest, ParsesBracketedIpv6) {
  Result<Address> a = parseAddress("[::1]:80");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 80);
  EXPECT_EQ(a->text(), "[::1]:80");
  EXPECT_EQ(parseAddress("[2001:db8::7]:65535")->host, "2001:db8::7");
}

TEST(AddressTest, AllowsPortZeroAndMax) {
  EXPECT_EQ(parseAddress("0.0.0.0:0")->port, 0);
  EXPECT_EQ(parseAddress("h:65535")->port, 65535);
}

TEST(AddressTest, TextRoundTrips) {
  for (const char* text : {"127.0.0.1:15001", "[::]:0", "example.com:443"}) {
    EXPECT_EQ(parseAddress(text)->text(), text);
  }
}

TEST(AddressTest, RejectsBadAddresses) {
  EXPECT_THAT(parseAddress("localhost").errors()[0].message, HasSubstr("expected host:port"));
  EXPECT_THAT(parseAddress(":80").errors()[0].message, HasSubstr("missing host"));
  EXPECT_THAT(parseAddress("h:").errors()[0].message, HasSubstr("port must be 0..65535"));
  EXPECT_THAT(parseAddress("h:65536").errors()[0].message, HasSubstr("port must be 0..65535"));
  EXPECT_THAT(parseAddress("h:-1").errors()[0].message, HasSubstr("port must be 0..65535"));
  EXPECT_THAT(parseAddress("h:8o").errors()[0].message, HasSubstr("port must be 0..65535"));
  EXPECT_THAT(parseAddress("h:000080").errors()[0].message, HasSubstr("port must be 0..65535"));
  EXPECT_THAT(parseAddress("::1:80").errors()[0].message, HasSubstr("need brackets"));
  EXPECT_THAT(parseAddress("[::1:80").errors()[0].message, HasSubstr("unterminated"));
  EXPECT_THAT(parseAddress("[nothex]:80").errors()[0].message, HasSubstr("not an IPv6"));
  EXPECT_THAT(parseAddress("[]:80").errors()[0].message, HasSubstr("unterminated"));
  EXPECT_THAT(parseAddress("a b:80").errors()[0].message, HasSubstr("invalid character"));
}

TEST(AddressTest, LoopbackAddresses) {
  for (const char* text : {"127.0.0.1:1", "127.255.0.9:1", "[::1]:1", "localhost:1", "LOCALHOST:1",
                           "[::ffff:127.0.0.2]:1", "[0:0:0:0:0:0:0:1]:1"}) {
    EXPECT_TRUE(isLoopback(*parseAddress(text))) << text;
  }
  for (const char* text : {"0.0.0.0:1", "126.0.0.1:1", "[::]:1", "[::2]:1", "[::ffff:10.0.0.1]:1",
                           "localhost.localdomain:1", "users:1"}) {
    EXPECT_FALSE(isLoopback(*parseAddress(text))) << text;
  }
}

}  // namespace
}  // namespace remora::config

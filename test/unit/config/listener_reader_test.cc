// Tests for listener keys: stream idle timeout, trust (and its defaults), buffered body limit.
#include "config/listener_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;

// One listener at `address`; `lines` are added to it from line 4 on.
std::string listener(const std::string& address, const std::string& lines = "") {
  return "listeners:\n  - name: edge\n    address: \"" + address + "\"\n" + lines +
         "    routes: [{direct_response: {status: 200}}]\n";
}

const Listener& first(const std::shared_ptr<const Config>& config) {
  return config->listeners.at(0);
}

TEST(ListenerReaderTest, DefaultsWhenAbsent) {
  std::shared_ptr<const Config> config = loadOk(listener("10.0.0.1:80"));
  EXPECT_EQ(first(config).stream_idle_timeout, Duration{300000});
  EXPECT_FALSE(first(config).trusted);
  EXPECT_EQ(first(config).max_buffered_body_bytes, 1024u * 1024);
}

TEST(ListenerReaderTest, ReadsEveryKey) {
  std::shared_ptr<const Config> config = loadOk(listener("10.0.0.1:80",
                                                         "    stream_idle_timeout: 30s\n"
                                                         "    trusted: true\n"
                                                         "    max_buffered_body_bytes: 64KiB\n"));
  EXPECT_EQ(first(config).stream_idle_timeout, Duration{30000});
  EXPECT_TRUE(first(config).trusted);
  EXPECT_EQ(first(config).max_buffered_body_bytes, 64u * 1024);
  config = loadOk(
      listener("10.0.0.1:80", "    stream_idle_timeout: 0s\n    max_buffered_body_bytes: 1024\n"));
  EXPECT_EQ(first(config).stream_idle_timeout, Duration{0});
  EXPECT_EQ(first(config).max_buffered_body_bytes, 1024u);
}

TEST(ListenerReaderTest, LoopbackListenersAreTrustedByDefault) {
  for (const char* address : {"127.0.0.1:1", "127.8.9.10:1", "[::1]:1", "localhost:1",
                              "LocalHost:1", "[::ffff:127.0.0.1]:1"}) {
    EXPECT_TRUE(first(loadOk(listener(address))).trusted) << address;
  }
  for (const char* address : {"0.0.0.0:1", "10.0.0.1:1", "128.0.0.1:1", "[::]:1",
                              "[::ffff:10.0.0.1]:1", "localhost.example:1", "app:1"}) {
    EXPECT_FALSE(first(loadOk(listener(address))).trusted) << address;
  }
}

TEST(ListenerReaderTest, TheInboundListenerIsTrustedByDefault) {
  // `service:` comes after `listeners:` in the file; it decides all the same.
  std::shared_ptr<const Config> config = loadOk(R"(listeners:
  - name: inbound
    address: 0.0.0.0:15006
    routes: [{direct_response: {status: 200}}]
  - name: other
    address: 0.0.0.0:15007
    routes: [{direct_response: {status: 200}}]
  - name: inbound_untrusted
    address: 10.0.0.1:15006
    trusted: false
    routes: [{direct_response: {status: 200}}]
service: {name: orders, port: 15006}
)");
  EXPECT_TRUE(config->listeners.at(0).trusted);
  EXPECT_FALSE(config->listeners.at(1).trusted);
  EXPECT_FALSE(config->listeners.at(2).trusted);
}

TEST(ListenerReaderTest, WrittenTrustWins) {
  EXPECT_FALSE(first(loadOk(listener("127.0.0.1:1", "    trusted: false\n"))).trusted);
  EXPECT_TRUE(first(loadOk(listener("0.0.0.0:1", "    trusted: true\n"))).trusted);
}

TEST(ListenerReaderTest, Errors) {
  EXPECT_THAT(errorsOf(listener("0.0.0.0:1",
                                "    stream_idle_timeout: 5\n"
                                "    trusted: yes\n"
                                "    max_buffered_body_bytes: 1023\n")),
              ElementsAre("t.yaml:4:26: stream_idle_timeout: bad duration '5': missing unit "
                          "(ms, s, m or h)",
                          "t.yaml:5:14: trusted must be true or false, not 'yes'",
                          "t.yaml:6:30: max_buffered_body_bytes must be in 1024..1073741824 "
                          "bytes, not 1023"));
  EXPECT_THAT(errorsOf(listener("0.0.0.0:1",
                                "    trusted: [true]\n"
                                "    max_buffered_body_bytes: 2GiB\n")),
              ElementsAre("t.yaml:4:14: trusted must be true or false, not a list",
                          "t.yaml:5:30: max_buffered_body_bytes must be in 1024..1073741824 "
                          "bytes, not 2147483648"));
}

}  // namespace
}  // namespace remora::config

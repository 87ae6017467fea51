// Tests for the `admin:` block: defaults, the probe listener's address and its errors.
#include "config/admin_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "load_helpers.h"

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using testing::errorsOf;
using testing::loadOk;

TEST(AdminReaderTest, LoopbackAndNoProbeListenerByDefault) {
  const std::shared_ptr<const Config> config = loadOk("listeners: []\n");
  EXPECT_EQ(config->admin.address.text(), "127.0.0.1:9901");
  EXPECT_FALSE(config->admin.probe_address.has_value());
}

TEST(AdminReaderTest, ReadsBothAddresses) {
  const std::shared_ptr<const Config> config =
      loadOk("admin: {address: 127.0.0.1:9902, probe_address: \"[::]:15021\"}\n");
  EXPECT_EQ(config->admin.address.text(), "127.0.0.1:9902");
  ASSERT_TRUE(config->admin.probe_address.has_value());
  EXPECT_EQ(config->admin.probe_address->text(), "[::]:15021");
}

TEST(AdminReaderTest, ProbeAddressExpandsThePodIp) {
  setenv("REMORA_ADMIN_TEST_POD_IP", "10.1.2.3", 1);
  const std::shared_ptr<const Config> config =
      loadOk("admin: {probe_address: \"${REMORA_ADMIN_TEST_POD_IP}:15021\"}\n");
  unsetenv("REMORA_ADMIN_TEST_POD_IP");
  ASSERT_TRUE(config->admin.probe_address.has_value());
  EXPECT_EQ(config->admin.probe_address->text(), "10.1.2.3:15021");
}

TEST(AdminReaderTest, PortZeroTwiceIsTwoListeners) {
  const std::shared_ptr<const Config> config =
      loadOk("admin: {address: 127.0.0.1:0, probe_address: 127.0.0.1:0}\n");
  EXPECT_EQ(config->admin.probe_address->text(), "127.0.0.1:0");
}

TEST(AdminReaderTest, ErrorsCarryTheirPlace) {
  EXPECT_THAT(errorsOf("admin: {probe_address: 10.0.0.1}\n"),
              ElementsAre("t.yaml:1:24: probe_address: bad address '10.0.0.1': expected "
                          "host:port"));
  EXPECT_THAT(errorsOf("admin:\n  address: 127.0.0.1:9901\n  probe_address: 127.0.0.1:9901\n"),
              ElementsAre("t.yaml:3:18: probe_address must differ from address "
                          "(127.0.0.1:9901): it is a second listener"));
  EXPECT_THAT(errorsOf("admin: {probe: 10.0.0.1:15021}\n"),
              ElementsAre("t.yaml:1:9: unknown key 'probe' in admin (known: address, "
                          "probe_address)"));
}

}  // namespace
}  // namespace remora::config

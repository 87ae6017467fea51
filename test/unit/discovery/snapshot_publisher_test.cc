// Tests of snapshot publishing: a burst of changes is one rebuild, and every change is in it.
#include "discovery/snapshot_publisher.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "discovery/snapshot_builder.h"

namespace remora::discovery {
namespace {

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
registry:
  file: {path: /nonexistent/endpoints.yaml}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: users
clusters:
  - name: users
    service: users
)";

RegistryView viewWith(size_t endpoints) {
  RegistryView view;
  view.source = "test";
  auto& users = view.services["users"];
  for (size_t i = 0; i < endpoints; ++i) {
    RegistryEndpoint entry;
    entry.endpoint.address = {"10.0.0." + std::to_string(i + 1), 80};
    users.push_back(entry);
  }
  return view;
}

class SnapshotPublisherTest : public ::testing::Test {
 protected:
  SnapshotPublisherTest() : base_(event_base_new()), stats_(1) {
    auto config = config::loadConfigString(kConfig, "test.yaml");
    if (!config.ok()) ADD_FAILURE() << config.errors()[0].text();
    auto loaded = prepareConfig(*config);
    if (!loaded.ok()) ADD_FAILURE() << loaded.errors()[0].text();
    publisher_ = std::make_unique<SnapshotPublisher>(
        base_, stats_,
        [this](const std::shared_ptr<const Snapshot>& snapshot) { delivered_.push_back(snapshot); },
        std::chrono::milliseconds(1000));
    publisher_->setConfig(*loaded);
  }
  ~SnapshotPublisherTest() override {
    publisher_.reset();
    event_base_free(base_);
  }

  // Runs the loop until it has nothing left to do (the publisher's timer is its only event).
  void runLoop() { event_base_dispatch(base_); }
  size_t endpointsIn(const Snapshot& snapshot) { return snapshot.clusters[0].endpoints.size(); }

  event_base* base_;
  stats::Registry stats_;
  std::unique_ptr<SnapshotPublisher> publisher_;
  std::vector<std::shared_ptr<const Snapshot>> delivered_;
};

TEST_F(SnapshotPublisherTest, ABurstOfChangesIsOneRebuildWithTheLastOfThem) {
  for (size_t i = 1; i <= 100; ++i) {
    publisher_->setRegistry(viewWith(i));
    publisher_->requestPublish();
  }
  EXPECT_TRUE(delivered_.empty()) << "a request must not rebuild at once";
  runLoop();
  ASSERT_EQ(delivered_.size(), 1u);
  EXPECT_EQ(endpointsIn(*delivered_[0]), 100u);
  EXPECT_EQ(publisher_->snapshot(), delivered_[0]);
}

TEST_F(SnapshotPublisherTest, ChangesWhileARebuildWaitsForTheIntervalJoinIt) {
  publisher_->publish();  // the interval counts from here
  ASSERT_EQ(delivered_.size(), 1u);
  publisher_->setRegistry(viewWith(1));
  publisher_->requestPublish();
  // The loop's first pass finds the rebuild still waiting; more changes come meanwhile.
  event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(delivered_.size(), 1u) << "rebuilt again before the minimum interval";
  for (size_t i = 2; i <= 10; ++i) {
    publisher_->setRegistry(viewWith(i));
    publisher_->requestPublish();
  }
  runLoop();
  ASSERT_EQ(delivered_.size(), 2u);
  EXPECT_EQ(endpointsIn(*delivered_[1]), 10u);
}

TEST_F(SnapshotPublisherTest, PublishingNowServesAPendingRequest) {
  publisher_->setRegistry(viewWith(3));
  publisher_->requestPublish();
  publisher_->publish();  // a config reload
  ASSERT_EQ(delivered_.size(), 1u);
  runLoop();
  EXPECT_EQ(delivered_.size(), 1u) << "the request was served by the publish";
  EXPECT_EQ(endpointsIn(*delivered_[0]), 3u);
}

TEST_F(SnapshotPublisherTest, EndpointsPointAtTheViewsMetadataWhichLivesWithTheSnapshots) {
  RegistryView view = viewWith(2);
  view.services["users"][0].endpoint.meta = {{"version", "v1"}, {"instance", "a"}};
  publisher_->setRegistry(view);
  publisher_->publish();
  publisher_->publish();  // say, a health change: the same view
  ASSERT_EQ(delivered_.size(), 2u);
  const auto& registry = publisher_->registry().services.at("users");
  for (const auto& snapshot : delivered_) {
    EXPECT_EQ(snapshot->clusters[0].endpoints[0].meta.get(), &registry[0].endpoint.meta);
    EXPECT_EQ(snapshot->clusters[0].endpoints[1].meta, EndpointInfo::emptyMetadata());
  }
  std::weak_ptr<const RegistryView> first = delivered_[0]->registry;
  publisher_->setRegistry(viewWith(1));
  publisher_->publish();
  EXPECT_FALSE(first.expired()) << "a snapshot still points into it";
  delivered_.clear();
  EXPECT_TRUE(first.expired());
}

}  // namespace
}  // namespace remora::discovery

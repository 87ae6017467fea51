// Unit tests of the router with a fake stream context, a fake pool and fake upstream requests (no
// worker, no socket): endpoint choice, waiting for the pool, the retry of a try that reached no
// upstream, breakers, the retry policy, outcomes for outlier detection.
#include "filters/router/router_filter.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace remora::router {
namespace {

using Log = std::vector<std::string>;

class FakeContext : public filters::StreamContext {
 public:
  FakeContext(const Snapshot& snapshot, const CompiledRoute* route)
      : snapshot_(snapshot), route_(route) {}
  ~FakeContext() override { event_base_free(base_); }

  void resume() override { log.push_back("resume"); }
  void sendLocalReply(const filters::LocalReply& reply) override {
    std::string line = "local " + std::to_string(reply.status) + " " + std::string(reply.reason);
    for (const auto& [name, value] : reply.headers) line += " " + name + "=" + value;
    log.push_back(line);
    answered = true;
  }
  filters::StreamInfo& info() override { return info_; }
  event_base* loop() override { return base_; }
  const Snapshot& snapshot() const override { return snapshot_; }
  const CompiledRoute* route() const override { return route_; }
  // The fixture owns the snapshot and outlives the context: a share that owns nothing.
  std::shared_ptr<const Snapshot> sharedSnapshot() const override {
    return std::shared_ptr<const Snapshot>(std::shared_ptr<const Snapshot>(), &snapshot_);
  }
  stats::WorkerStats& workerStats() override { return stats_; }
  void encodeHeaders(ResponseHeaders& headers, bool end_stream) override {
    log.push_back("response " + std::to_string(headers.status) + (end_stream ? " end" : ""));
    answered = true;
  }
  void encodeData(Buffer& data, bool end_stream) override {
    log.push_back("data " + data.toString() + (end_stream ? " end" : ""));
  }
  void encodeTrailers(HeaderMap&) override { log.push_back("trailers"); }
  void continueRequestBody() override { log.push_back("100-continue"); }
  void setRequestReadDisabled(bool disabled) override { read_disabled = disabled; }
  bool responseStarted() const override { return answered; }
  bool upgradeRequested() const override { return false; }
  bool expectContinue() const override { return false; }
  bool requestComplete() const override { return true; }

  Log log;
  bool answered = false;
  bool read_disabled = false;

 private:
  event_base* base_ = event_base_new();
  const Snapshot& snapshot_;
  const CompiledRoute* route_;
  filters::StreamInfo info_;
  stats::WorkerStats stats_;
};

class FakeRequest : public UpstreamRequest {
 public:
  explicit FakeRequest(Log& log) : log_(log) {}
  void startRequest(UpstreamCallbacks& callbacks, const RequestHeaders& request, bool,
                    bool) override {
    callbacks_ = &callbacks;
    log_.push_back("upstream " + request.method + " " + request.path);
  }
  void sendData(Buffer& data, bool) override { log_.push_back("upstream data " + data.toString()); }
  void sendTrailers(HeaderMap&) override {}
  void readDisable(bool) override {}
  void detach() override { callbacks_ = nullptr; }
  bool reused() const override { return false; }
  UpstreamCallbacks* callbacks_ = nullptr;

 private:
  Log& log_;
};

// How the fake pool answers the next asks, in order; then: ready at once.
enum class Answer { Ready, Wait, ConnectFailure, Overflow };

class FakePool : public ConnectionPool, public PendingStream {
 public:
  explicit FakePool(Log& log) : log_(log) {}
  PendingStream* newStream(const Snapshot&, const ClusterInfo&, uint32_t index,
                           PoolCallbacks& callbacks) override {
    asked.push_back(index);
    const Answer answer = answers.empty() ? Answer::Ready : answers.front();
    if (!answers.empty()) answers.pop_front();
    switch (answer) {
      case Answer::Ready:
        ready(callbacks);
        return nullptr;
      case Answer::Wait:
        waiting = &callbacks;
        return this;
      case Answer::ConnectFailure:
        callbacks.onPoolFailure(PoolFailure::ConnectFailure);
        return nullptr;
      case Answer::Overflow:
        callbacks.onPoolFailure(PoolFailure::Overflow);
        return nullptr;
    }
    return nullptr;
  }
  void release(std::unique_ptr<UpstreamRequest>, bool reusable) override {
    log_.push_back(reusable ? "released reusable" : "released");
  }
  void cancel() override {
    log_.push_back("cancelled");
    waiting = nullptr;
  }
  FakeRequest* ready(PoolCallbacks& callbacks) {
    auto request = std::make_unique<FakeRequest>(log_);
    FakeRequest* raw = request.get();
    last = raw;
    callbacks.onPoolReady(std::move(request));
    return raw;
  }

  std::deque<Answer> answers;
  std::vector<uint32_t> asked;
  PoolCallbacks* waiting = nullptr;
  FakeRequest* last = nullptr;

 private:
  Log& log_;
};

class FakeUpstreams : public Upstreams {
 public:
  FakeUpstreams(Log& log, const config::Cluster& cluster)
      : pool_(log), state_(cluster, std::make_shared<BreakerCounts>(), nullptr) {}
  ClusterState& clusterState(const ClusterInfo&) override { return state_; }
  ConnectionPool& pool() override { return pool_; }
  stats::WorkerStats& stats() override { return stats_; }
  CanaryTallies& canaryTallies() override { return tallies_; }
  void deferDelete(std::unique_ptr<Deferrable>) override {}
  DetachedSet& detached() override { return detached_; }

  FakePool pool_;
  ClusterState state_;
  stats::WorkerStats stats_;
  CanaryTallies tallies_;
  DetachedSet detached_;
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    cluster_config.name = "backend";
    auto snapshot = std::make_shared<Snapshot>();
    ClusterInfo cluster;
    cluster.config = &cluster_config;
    SubsetInfo all;
    all.lb_key = "backend|";
    all.generation = 1;
    for (uint32_t i = 0; i < 2; ++i) {
      EndpointInfo endpoint;
      endpoint.key = "10.0.0." + std::to_string(i) + ":80";
      cluster.endpoints.push_back(endpoint);
      all.members.push_back(i);
      all.total_weight += 1;
    }
    cluster.subsets.push_back(all);
    snapshot->clusters.push_back(std::move(cluster));
    snapshot_ = std::move(snapshot);
    route.config = &route_config;
    route.targets.push_back({0, 0, 1});
  }

  // A router for one GET, started.
  filters::Next start(const CompiledRoute* chosen) {
    context = std::make_unique<FakeContext>(*snapshot_, chosen);
    upstreams = std::make_unique<FakeUpstreams>(log(), cluster_config);
    std::vector<std::string> left;
    upstreams->state_.reconcile(snapshot_->clusters[0], left);
    router = std::make_unique<RouterFilter>(*context, *upstreams);
    request.method = "GET";
    request.path = "/x";
    return router->onRequestHeaders(request, true);
  }
  Log& log() { return shared_log; }
  EndpointState& endpointState(uint32_t index) {
    return upstreams->state_.endpoint(snapshot_->clusters[0], index);
  }

  config::Cluster cluster_config;
  config::Route route_config;
  CompiledRoute route;
  std::shared_ptr<const Snapshot> snapshot_;
  Log shared_log;
  RequestHeaders request;
  std::unique_ptr<FakeContext> context;
  std::unique_ptr<FakeUpstreams> upstreams;
  std::unique_ptr<RouterFilter> router;
};

TEST_F(RouterTest, AReadyStreamCarriesTheRequestAndTheResponseComesBack) {
  EXPECT_EQ(start(&route), filters::Next::Continue);
  ASSERT_NE(upstreams->pool_.last, nullptr);
  ResponseHeaders response;
  upstreams->pool_.last->callbacks_->onUpstreamHeaders(response, true);
  EXPECT_EQ(context->log, (Log{"response 200 end"}));
  router->onComplete(context->info());
  EXPECT_EQ(log(), (Log{"upstream GET /x", "released reusable"}));
  EXPECT_EQ(endpointState(static_cast<uint32_t>(upstreams->pool_.asked[0])).outcomes.successes, 1u);
}

TEST_F(RouterTest, WithoutARouteTheAnswerIs404) {
  start(nullptr);
  EXPECT_EQ(context->log, (Log{"local 404 no_route"}));
}

class RouterFailures : public RouterTest {
 protected:
  // Starts with the pool answering `answers` in turn.
  filters::Next startWith(std::deque<Answer> answers) {
    start(&route);  // makes the fakes; this first request is served and done
    router->onComplete(context->info());
    shared_log.clear();
    context->log.clear();
    upstreams->pool_.asked.clear();
    upstreams->pool_.answers = std::move(answers);
    request.headers.clear();
    router = std::make_unique<RouterFilter>(*context, *upstreams);
    return router->onRequestHeaders(request, true);
  }
};

TEST_F(RouterFailures, WaitingForThePoolStopsTheStreamUntilTheStreamIsReady) {
  EXPECT_EQ(startWith({Answer::Wait}), filters::Next::Stop);
  ASSERT_NE(upstreams->pool_.waiting, nullptr);
  upstreams->pool_.ready(*upstreams->pool_.waiting);
  EXPECT_EQ(context->log, (Log{"resume"}));
  EXPECT_EQ(log(), (Log{"upstream GET /x"}));
}

TEST_F(RouterFailures, AStreamThatGoesAwayWhileWaitingCancelsItsWait) {
  startWith({Answer::Wait});
  router->onComplete(context->info());
  EXPECT_EQ(log(), (Log{"cancelled"}));
}

TEST_F(RouterFailures, ARefusedConnectionGoesOnceToTheOtherEndpointWithoutAPolicy) {
  startWith({Answer::ConnectFailure});
  ASSERT_EQ(upstreams->pool_.asked.size(), 2u);
  EXPECT_NE(upstreams->pool_.asked[0], upstreams->pool_.asked[1]);
  EXPECT_TRUE(context->log.empty()) << context->log[0];
  EXPECT_EQ(context->info().retries, 1u);
  EXPECT_EQ(endpointState(upstreams->pool_.asked[0]).outcomes.local_origin, 1u);
}

TEST_F(RouterFailures, TwoRefusedConnectionsAre502) {
  startWith({Answer::ConnectFailure, Answer::ConnectFailure});
  EXPECT_EQ(upstreams->pool_.asked.size(), 2u);
  EXPECT_EQ(context->log, (Log{"local 502 upstream_connect_failure"}));
}

TEST_F(RouterFailures, APoolOverflowIs503Overloaded) {
  startWith({Answer::Overflow});
  EXPECT_EQ(context->log, (Log{"local 503 upstream_overflow_pending x-remora-overloaded=true"}));
}

TEST_F(RouterFailures, AnOpenRequestBreakerAnswersWithoutAskingThePool) {
  cluster_config.circuit_breaker.max_requests = 1;
  start(&route);  // holds the one request the cluster may have
  FakeContext second(*snapshot_, &route);
  RouterFilter other(second, *upstreams);
  RequestHeaders get;
  get.method = "GET";
  get.path = "/";
  other.onRequestHeaders(get, true);
  EXPECT_EQ(second.log, (Log{"local 503 upstream_overflow_requests x-remora-overloaded=true"}));
  EXPECT_EQ(upstreams->pool_.asked.size(), 1u);
}

TEST_F(RouterFailures, AGatewayErrorIsRetriedByThePolicyAfterItsBackoff) {
  config::RetryPolicy policy;
  policy.on = config::kRetryOnGatewayError;
  policy.attempts = 1;
  policy.backoff_base = config::Duration(1);
  policy.backoff_max = config::Duration(1);
  route_config.retry = policy;
  startWith({});
  ResponseHeaders bad;
  bad.status = 503;
  upstreams->pool_.last->callbacks_->onUpstreamHeaders(bad, true);
  EXPECT_EQ(upstreams->pool_.asked.size(), 1u);
  event_base_loop(context->loop(), EVLOOP_ONCE);
  EXPECT_EQ(upstreams->pool_.asked.size(), 2u);
  EXPECT_EQ(context->info().retries, 1u);
  EXPECT_EQ(endpointState(upstreams->pool_.asked[0]).outcomes.gateway, 1u);
  ResponseHeaders good;
  upstreams->pool_.last->callbacks_->onUpstreamHeaders(good, true);
  EXPECT_EQ(context->log, (Log{"response 200 end"}));
}

}  // namespace
}  // namespace remora::router

// The fleet's canary records in etcd: the lease, the campaign-and-read transaction, the fenced
// state write, and the keys under /remora/canaries/.
#include "discovery/canary/etcd_fleet_store.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "discovery/etcd/etcd_json.h"
#include "proxy/log.h"

namespace remora::canary {
namespace {

using json = nlohmann::json;
using discovery::HttpResponse;
using discovery::etcd::base64Encode;

constexpr char kRoot[] = "/remora/canaries/";
constexpr std::chrono::milliseconds kCallTimeout{3000};

std::string describe(const HttpResponse& response) {
  if (response.status == 0) return response.error;
  return "HTTP " + std::to_string(response.status) + " " + response.body.substr(0, 200);
}

json put(const std::string& key, const std::string& value, int64_t lease) {
  json request = {{"key", base64Encode(key)}, {"value", base64Encode(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  return {{"request_put", std::move(request)}};
}

// Sorts the records of a run (keys under `prefix`) into a view.
FleetView viewOf(const std::vector<discovery::etcd::KeyValue>& kvs, const std::string& prefix,
                 int64_t lease) {
  FleetView view;
  for (const auto& kv : kvs) {
    if (!kv.key.starts_with(prefix)) continue;
    const std::string_view leaf = std::string_view(kv.key).substr(prefix.size());
    if (leaf == "leader") {
      view.leader = kv.value;
      view.leading = lease != 0 && kv.lease == lease;
    } else if (leaf == "state") {
      view.state = kv.value;
    } else if (leaf.starts_with("counts/")) {
      view.counts[std::string(leaf.substr(7))] = kv.value;
    } else if (leaf.starts_with("requests/")) {
      view.requests[std::string(leaf.substr(9))] = kv.value;
    }
  }
  return view;
}

}  // namespace

EtcdFleetStore::EtcdFleetStore(discovery::HttpClient& http, const config::EtcdRegistry& config,
                               std::string self)
    : base_(http.base()),
      client_(http, config),
      self_(std::move(self)),
      ttl_(std::max<std::chrono::milliseconds>(std::chrono::seconds(2), config.lease_ttl)),
      timer_(evtimer_new(http.base(), &EtcdFleetStore::onTimer, this)) {}

EtcdFleetStore::~EtcdFleetStore() {
  lease_call_.reset();
  event_free(timer_);
}

std::string EtcdFleetStore::prefix(const FleetRun& run) const {
  return std::string(kRoot) + run.name + "/" + run.fingerprint + "/";
}

void EtcdFleetStore::grant() {
  const json body = {{"TTL", std::to_string(ttl_.count() / 1000)}};
  lease_call_ =
      client_.call("/v3/lease/grant", body.dump(), kCallTimeout, [this](HttpResponse response) {
        lease_call_.reset();
        if (response.status != 200) return leaseFailed("lease grant: " + describe(response));
        std::string error;
        auto reply = discovery::etcd::parseLeaseReply(response.body, error);
        int64_t id = 0;
        if (!reply || reply->ttl <= 0 || reply->id.empty() ||
            !(std::istringstream(reply->id) >> id)) {
          return leaseFailed("lease grant: " + (error.empty() ? "no lease in the reply" : error));
        }
        lease_ = id;
        backoff_.reset();
        LOG_INFO("canary fleet: etcd lease %lld for %s", static_cast<long long>(lease_),
                 self_.c_str());
        keepAlive();
      });
}

void EtcdFleetStore::keepAlive() { schedule(ttl_ / 3); }

void EtcdFleetStore::resign() {
  resigned_ = true;
  evtimer_del(timer_);
  lease_call_.reset();
  if (lease_ == 0) return;
  // Revoking the lease deletes every key on it: the counts, the requests and `leader`.
  const json body = {{"ID", std::to_string(lease_)}};
  lease_ = 0;
  lease_call_ =
      client_.call("/v3/lease/revoke", body.dump(), kCallTimeout, [this](HttpResponse response) {
        lease_call_.reset();
        if (response.status == 200) {
          LOG_INFO("canary fleet: etcd lease of %s revoked; the others go on", self_.c_str());
        } else {
          LOG_WARN("canary fleet: revoking the etcd lease of %s failed (%s); it expires on its own",
                   self_.c_str(), describe(response).c_str());
        }
      });
}

void EtcdFleetStore::onTimer(evutil_socket_t, short, void* self) {
  auto* store = static_cast<EtcdFleetStore*>(self);
  if (store->lease_ == 0) return store->grant();
  const json body = {{"ID", std::to_string(store->lease_)}};
  store->lease_call_ = store->client_.call(
      "/v3/lease/keepalive", body.dump(), kCallTimeout, [store](HttpResponse response) {
        store->lease_call_.reset();
        if (response.status != 200) return store->leaseFailed("keep-alive: " + describe(response));
        std::string error;
        auto reply = discovery::etcd::parseLeaseReply(response.body, error);
        if (!reply) return store->leaseFailed("keep-alive: " + error);
        if (reply->ttl <= 0) {
          // Gone (etcd was away longer than the TTL): the records and any leadership went with
          // it. A new lease publishes again and campaigns again.
          LOG_WARN("canary fleet: etcd lease %lld is gone; granting a new one",
                   static_cast<long long>(store->lease_));
          store->lease_ = 0;
          return store->grant();
        }
        store->keepAlive();
      });
}

void EtcdFleetStore::leaseFailed(const std::string& error) {
  const auto wait = backoff_.next();
  LOG_WARN("canary fleet (etcd %s): %s; retrying in %lldms", client_.endpoint().c_str(),
           error.c_str(), static_cast<long long>(wait.count()));
  schedule(wait);
}

void EtcdFleetStore::schedule(std::chrono::milliseconds wait) {
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(timer_, &tv);
}

std::unique_ptr<discovery::HttpCall> EtcdFleetStore::sync(
    const FleetRun& run, std::optional<std::string> counts,
    std::function<void(std::optional<FleetView>, std::string error)> done) {
  // The lease is asked for when a canary first needs it, not by every remora with a registry.
  if (!lease_wanted_ && !resigned_) {
    lease_wanted_ = true;
    grant();
  }
  const std::string base = prefix(run);
  const json range = {{"request_range",
                       {{"key", base64Encode(base)},
                        {"range_end", base64Encode(discovery::etcd::prefixRangeEnd(base))}}}};
  json success = json::array();
  json failure = json::array();
  json compare = json::array();
  if (lease_ != 0) {
    // The leadership is the `leader` key: whoever creates it holds it until its lease ends.
    compare.push_back(
        {{"key", base64Encode(base + "leader")}, {"target", "CREATE"}, {"create_revision", "0"}});
    success.push_back(put(base + "leader", self_, lease_));
    if (counts) {
      success.push_back(put(base + "counts/" + self_, *counts, lease_));
      failure.push_back(put(base + "counts/" + self_, *counts, lease_));
    }
  }
  success.push_back(range);
  failure.push_back(range);
  const json body = {{"compare", compare}, {"success", success}, {"failure", failure}};
  const int64_t lease = lease_;
  return client_.call("/v3/kv/txn", body.dump(), kCallTimeout,
                      [base, lease, done = std::move(done)](HttpResponse response) {
                        if (response.status != 200)
                          return done(std::nullopt, "txn: " + describe(response));
                        std::string error;
                        auto reply = discovery::etcd::parseTxnReply(response.body, error);
                        if (!reply || reply->ranges.size() != 1) {
                          return done(std::nullopt,
                                      "txn: " + (error.empty() ? "no range in the reply" : error));
                        }
                        done(viewOf(reply->ranges[0].kvs, base, lease), "");
                      });
}

std::unique_ptr<discovery::HttpCall> EtcdFleetStore::writeState(
    const FleetRun& run, std::string state,
    std::function<void(bool written, std::string error)> done) {
  if (lease_ == 0) return answerSoon(base_, [done = std::move(done)] { done(false, ""); });
  const std::string base = prefix(run);
  // Fenced: a leader whose lease ran out (and whose key another remora now holds) cannot
  // overwrite what the new leader decided.
  const json body = {{"compare",
                      {{{"key", base64Encode(base + "leader")},
                        {"target", "LEASE"},
                        {"lease", std::to_string(lease_)}}}},
                     {"success", {put(base + "state", state, 0)}}};
  return client_.call("/v3/kv/txn", body.dump(), kCallTimeout,
                      [done = std::move(done)](HttpResponse response) {
                        if (response.status != 200) return done(false, describe(response));
                        std::string error;
                        auto reply = discovery::etcd::parseTxnReply(response.body, error);
                        if (!reply) return done(false, error);
                        done(reply->succeeded, "");
                      });
}

std::unique_ptr<discovery::HttpCall> EtcdFleetStore::readState(
    const FleetRun& run,
    std::function<void(bool ok, std::optional<std::string> state, std::string error)> done) {
  const json body = {{"key", base64Encode(prefix(run) + "state")}};
  return client_.call("/v3/kv/range", body.dump(), kCallTimeout,
                      [done = std::move(done)](HttpResponse response) {
                        if (response.status != 200)
                          return done(false, std::nullopt, describe(response));
                        std::string error;
                        auto reply = discovery::etcd::parseRangeReply(response.body, error);
                        if (!reply) return done(false, std::nullopt, error);
                        if (reply->kvs.empty()) return done(true, std::nullopt, "");
                        done(true, reply->kvs[0].value, "");
                      });
}

std::unique_ptr<discovery::HttpCall> EtcdFleetStore::request(
    const FleetRun& run, std::string request,
    std::function<void(bool ok, std::string error)> done) {
  if (lease_ == 0) {
    return answerSoon(base_, [done = std::move(done)] { done(false, "no etcd lease yet"); });
  }
  const json body = put(prefix(run) + "requests/" + self_, request, lease_)["request_put"];
  return client_.call("/v3/kv/put", body.dump(), kCallTimeout,
                      [done = std::move(done)](HttpResponse response) {
                        if (response.status != 200) return done(false, describe(response));
                        done(true, "");
                      });
}

}  // namespace remora::canary

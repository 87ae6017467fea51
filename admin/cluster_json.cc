// An endpoint's state, and what its balancer sees of it, as the admin's JSON shows them.
#include "admin/cluster_json.h"

#include <cmath>
#include <string>

#include "proxy/lb/slow_start.h"

namespace remora::admin {

nlohmann::json endpointJson(const EndpointInfo& endpoint, bool in_rotation, bool panic) {
  std::string reason = "in rotation";
  if (!endpoint.healthy) {
    reason = *endpoint.health_reason;
  } else if (endpoint.ejected) {
    reason = "outlier: " + *endpoint.ejection;
  }
  if (panic && (!endpoint.healthy || endpoint.ejected) && in_rotation) {
    reason = "in rotation (panic); " + reason;
  }
  nlohmann::json entry = {{"address", endpoint.key},    {"weight", endpoint.weight},
                          {"meta", *endpoint.meta},     {"healthy", endpoint.healthy},
                          {"in_rotation", in_rotation}, {"reason", reason}};
  if (!endpoint.health_check->empty()) entry["health_check"] = *endpoint.health_check;
  if (endpoint.ejected) {
    entry["ejected"] = true;
    entry["ejection"] = *endpoint.ejection;
  }
  return entry;
}

namespace {

double rounded(double value, double unit) { return std::round(value / unit) * unit; }

nlohmann::json roundedAll(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double value : values) out.push_back(rounded(value, 0.001));
  return out;
}

}  // namespace

PolicyView::PolicyView(const ClusterInfo& cluster, const SubsetInfo& subset,
                       const BalancerLoads* loads, int64_t now_us)
    : cluster_(cluster), loads_(loads), now_us_(now_us) {
  if (subset.hash_table == nullptr) return;
  for (const auto& [index, per_million] : subset.hash_table->shares()) {
    hash_share_percent_[index] = rounded(per_million / 10000.0, 0.01);
  }
}

void PolicyView::add(uint32_t index, nlohmann::json& entry) const {
  const EndpointInfo& endpoint = cluster_.endpoints[index];
  const config::SlowStart& slow_start = cluster_.config->slow_start;
  const int64_t ends_us = endpoint.slow_start_since_us + slow_start.window.count() * 1000;
  if (endpoint.slow_start_since_us != 0 && now_us_ < ends_us) {
    const double factor = slowStartFactor(slow_start, endpoint.slow_start_since_us, now_us_);
    entry["slow_start"] = {{"percent", rounded(factor * 100, 0.1)},
                           {"weight", rounded(endpoint.weight * factor, 0.01)},
                           {"ends_in_ms", (ends_us - now_us_) / 1000}};
  }
  if (auto it = hash_share_percent_.find(index); it != hash_share_percent_.end()) {
    entry["hash_share_percent"] = it->second;
  }
  if (loads_ == nullptr) return;
  const BalancerLoads::View view = loads_->of(cluster_.config->name, endpoint.key);
  entry["in_flight"] = view.active;
  if (cluster_.config->lb == config::LbPolicy::PeakEwma) {
    entry["peak_ewma"] = {{"latency_ms", roundedAll(view.latency_ms)},
                          {"cost_ms", roundedAll(view.cost_ms)}};
  }
}

}  // namespace remora::admin

// Builds snapshots: a config is prepared once, then combined with each registry view.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/result.h"
#include "discovery/dns/static_hosts.h"
#include "discovery/endpoint_interner.h"
#include "discovery/hash_table_cache.h"
#include "discovery/health/health_checker.h"
#include "discovery/outlier/outlier_detector.h"
#include "discovery/registry_view.h"
#include "discovery/slow_start_tracker.h"
#include "discovery/snapshot.h"

namespace remora::discovery {

// Builds the listeners' filter factories, the TLS contexts (reading the certificate files) and
// the routes (regexes compiled, subsets indexed); every error with its file:line:col. Static
// endpoint names are resolved later, without blocking (dns::StaticHosts), so a name that does not
// resolve yet is not a config error.
Result<std::shared_ptr<const LoadedConfig>> prepareConfig(
    std::shared_ptr<const config::Config> config);

// Each canary's share of its route, by index in Config::canaries: the percent sent to the canary
// arm, and whether the canary gets copies of the route's requests (its shadow step).
struct CanaryShare {
  uint32_t weight = 0;
  bool shadow = false;
  bool operator==(const CanaryShare&) const = default;
};
using CanaryWeights = std::vector<CanaryShare>;

// What builds remember from one snapshot to the next: pass the same one to every build.
struct BuildMemory {
  EndpointInterner interner;    // texts, shared with the previous snapshot's endpoints
  SlowStartTracker slow_start;  // since when endpoints have been in rotation
  HashTableCache hash_tables;   // the tables of subsets whose endpoints did not change
};

// Combines a prepared config with what the registry says, what active health checks found and
// what static host names resolve to (`health` and `hosts` may be null); never fails: a service the
// registry does not know yields an empty cluster, an endpoint whose address cannot be resolved is
// kept out of rotation with the reason. Endpoints' metadata points into the config and `view`
// (which the snapshot keeps). Without `memory` (null) texts are shared only within this snapshot,
// nothing ramps for slow start and every hash table is built anew.
// Endpoints `outliers` (may be null) has ejected are out of rotation but for panic.
// `canary_weights` (may be null: every canary route goes to its baseline) as the canaries' runs
// have them.
std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              std::shared_ptr<const RegistryView> view,
                                              const HealthChecker* health,
                                              const dns::StaticHosts* hosts, uint64_t version,
                                              BuildMemory* memory,
                                              const outlier::OutlierDetector* outliers = nullptr,
                                              const CanaryWeights* canary_weights = nullptr);
// The same with a copy of `registry` (tests, fuzzers).
std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              const RegistryView& registry,
                                              const HealthChecker* health,
                                              const dns::StaticHosts* hosts, uint64_t version);

// The host names (not IP literals) that endpoints are written with, static or from the registry.
std::set<std::string> hostNames(const config::Config& config, const RegistryView& registry);

// What a cluster's active health checks must check: its endpoints, static or from the registry.
std::vector<HealthTarget> healthTargets(const config::Config& config, const RegistryView& registry);

// Whether endpoint metadata `meta` has every key of a subset's `selector`, with the same value:
// which endpoints a subset is drawn from.
bool metadataMatches(const config::Metadata& selector, const config::Metadata& meta);

// Resolves "host:port" numerically or through the system resolver.
bool resolveAddress(const config::Address& address, sockaddr_storage& out, socklen_t& length,
                    std::string& error);

}  // namespace remora::discovery

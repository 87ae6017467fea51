// Cluster reading: endpoints or a service, balancing, connections, TLS, retries, health checks,
// and the defences (circuit breaker, outlier detection, panic threshold).
#include "config/cluster_reader.h"

#include <map>

#include "config/circuit_breaker_reader.h"
#include "config/endpoint_reader.h"
#include "config/field_readers.h"
#include "config/outlier_detection_reader.h"
#include "config/retry_reader.h"
#include "config/service_reader.h"
#include "config/tls_reader.h"

namespace remora::config {
namespace {

void readEndpoints(YamlReader& reader, const Located& at, std::vector<Endpoint>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "endpoints");
  if (!items) return;
  if (items->empty()) reader.error(at.where, "endpoints must not be empty");
  std::optional<Fields> fields;
  for (const Located& item : *items) {
    if (auto endpoint = readEndpoint(reader, item, {"address", "weight", "meta"}, fields)) {
      out.push_back(std::move(*endpoint));
    }
  }
}

void readLbPolicy(YamlReader& reader, const Located& at, LbPolicy& out) {
  std::optional<std::string> name = reader.string(at, "lb");
  if (!name) return;
  static const std::map<std::string, LbPolicy> kPolicies{
      {"round_robin", LbPolicy::RoundRobin},
      {"least_request", LbPolicy::LeastRequest},
      {"least_connections", LbPolicy::LeastConnections},
      {"random", LbPolicy::Random},
      {"ring_hash", LbPolicy::RingHash},
      {"maglev", LbPolicy::Maglev},
      {"peak_ewma", LbPolicy::PeakEwma}};
  auto it = kPolicies.find(*name);
  if (it == kPolicies.end()) {
    reader.error(at.where, "unknown lb '" + *name +
                               "' (known: round_robin, least_request, least_connections, random, "
                               "ring_hash, maglev, peak_ewma)");
    return;
  }
  out = it->second;
}

// A ring beyond this many points costs memory per subset and buys no better spread.
constexpr uint64_t kMaxRingSize = 8 * 1024 * 1024;

void readRingHash(YamlReader& reader, const Located& at, RingHash& out) {
  std::optional<Fields> fields =
      reader.mapping(at, "ring_hash", {"min_ring_size", "balance_factor"});
  if (!fields) return;
  readInteger(reader, *fields, "min_ring_size", 1, kMaxRingSize, out.min_ring_size);
  if (const Field* f = fields->find("balance_factor")) {
    if (auto factor = reader.number(f->value, "balance_factor", 1, 100))
      out.balance_factor = *factor;
  }
}

void readSlowStart(YamlReader& reader, const Located& at, SlowStart& out) {
  std::optional<Fields> fields =
      reader.mapping(at, "slow_start", {"window", "aggression", "min_weight_percent"});
  if (!fields) return;
  out.enabled = readPositiveDuration(reader, *fields, "window", out.window);
  if (const Field* f = fields->find("aggression")) {
    // Below 0.1 the ramp is a step at the window's end; above 10 a step at its start.
    if (auto aggression = reader.number(f->value, "aggression", 0.1, 10)) {
      out.aggression = *aggression;
    }
  }
  readInteger(reader, *fields, "min_weight_percent", 1, 100, out.min_weight_percent);
}

}  // namespace

void readClusters(YamlReader& reader, const Located& at, std::vector<Cluster>& out,
                  References& service_refs) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "clusters");
  if (!items) return;
  UniqueNames names("cluster name");
  for (const Located& item : *items) {
    std::optional<Fields> fields =
        reader.mapping(item, "cluster",
                       {"name", "endpoints", "service", "lb", "connect_timeout", "idle_timeout",
                        "max_idle_connections", "max_response_headers_bytes", "protocol", "tls",
                        "retry_budget", "health_check", "circuit_breaker", "outlier_detection",
                        "panic_threshold", "ring_hash", "slow_start"});
    if (!fields) continue;
    Cluster cluster;
    cluster.location = item.where;
    reader.require(*fields, "cluster", "name");
    if (const Field* f = fields->find("name")) {
      if (auto name = reader.nonEmptyString(f->value, "name")) {
        cluster.name = *name;
        names.add(reader, *name, f->value.where);
      }
    }
    const Field* endpoints = fields->find("endpoints");
    const Field* service = fields->find("service");
    if (endpoints == nullptr && service == nullptr) {
      reader.error(item.where, "cluster needs endpoints or service");
    } else if (endpoints != nullptr && service != nullptr) {
      reader.error(item.where, "cluster has both endpoints and service; use one");
    }
    if (endpoints != nullptr) readEndpoints(reader, endpoints->value, cluster.endpoints);
    if (service != nullptr) {
      if (auto name = reader.nonEmptyString(service->value, "service")) {
        cluster.service = *name;
        service_refs.push_back({*name, service->value.where});
      }
    }
    if (const Field* f = fields->find("lb")) readLbPolicy(reader, f->value, cluster.lb);
    if (const Field* f = fields->find("ring_hash")) {
      readRingHash(reader, f->value, cluster.ring_hash);
      if (cluster.lb != LbPolicy::RingHash) {
        reader.error(f->key_where, "ring_hash settings need lb: ring_hash");
      }
    }
    if (const Field* f = fields->find("slow_start")) {
      readSlowStart(reader, f->value, cluster.slow_start);
      if (!weightedPolicy(cluster.lb)) {
        reader.error(f->key_where,
                     "slow_start needs a weighted lb (round_robin, least_request, "
                     "least_connections, random, peak_ewma): a hash keeps each key's endpoint");
      }
    }
    readDuration(reader, *fields, "connect_timeout", cluster.connect_timeout);
    cluster.circuit_breaker.pending_timeout = cluster.connect_timeout;
    readDuration(reader, *fields, "idle_timeout", cluster.idle_timeout);
    readInteger(reader, *fields, "max_idle_connections", 0, kMaxUint32,
                cluster.max_idle_connections);
    readSize(reader, *fields, "max_response_headers_bytes", 1, kMaxHeadersBytes,
             cluster.max_response_headers_bytes);
    if (const Field* f = fields->find("protocol")) {
      readProtocol(reader, f->value, cluster.protocol);
      if (cluster.protocol == HttpProtocol::Auto) {
        reader.error(f->value.where, "a cluster's protocol is http1 or http2, not auto");
      }
    }
    if (const Field* f = fields->find("tls")) cluster.tls = readTlsClient(reader, *f);
    if (const Field* f = fields->find("retry_budget")) {
      readRetryBudget(reader, f->value, cluster.retry_budget);
    }
    if (const Field* f = fields->find("health_check")) {
      cluster.health_check = readHealthCheck(reader, f->value);
      // Checks speak plain HTTP/1.1: against TLS or h2c-only upstreams every check would
      // fail and empty the cluster.
      if (cluster.tls || cluster.protocol == HttpProtocol::Http2) {
        reader.error(f->key_where,
                     "health_check is plain HTTP/1.1; it cannot check a cluster with tls or "
                     "protocol http2");
      }
    }
    if (const Field* f = fields->find("circuit_breaker")) {
      readCircuitBreaker(reader, f->value, cluster.circuit_breaker);
    }
    if (const Field* f = fields->find("outlier_detection")) {
      readOutlierDetection(reader, f->value, cluster.outlier_detection);
    }
    readInteger(reader, *fields, "panic_threshold", 0, 100, cluster.panic_threshold);
    out.push_back(std::move(cluster));
  }
}

}  // namespace remora::config

// Snapshot: one immutable world (config, routes, clusters, endpoints, health) that workers share.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "filters/filter.h"
#include "proxy/route_table.h"
#include "proxy/tls_context.h"

namespace remora {

struct EndpointInfo {
  std::string key;  // "host:port": the identity that per-worker state (pools, LB) is keyed by
  sockaddr_storage address{};
  socklen_t address_length = 0;
  uint32_t weight = 1;
  config::Metadata meta;
  bool healthy = true;
  std::string health_reason;  // why it is out of rotation ("registry: unhealthy", ...); "" if in
  std::string health_check;   // the active check's verdict ("healthy (HTTP 200)"); "" unchecked
};

// A set of endpoints chosen by metadata; subset 0 of every cluster is the whole cluster.
struct SubsetInfo {
  config::Metadata selector;
  std::string label;              // "version=v2,zone=a"; "" for the whole cluster
  std::vector<uint32_t> members;  // healthy endpoints matching the selector, by index
  std::string lb_key;             // "cluster|label": keys per-worker balancer state
  uint64_t generation = 0;        // the snapshot version that built it
  bool equal_weights = true;      // every member has the same weight
  uint64_t total_weight = 0;      // sum of the members' weights
};

struct ClusterInfo {
  const config::Cluster* config = nullptr;
  std::vector<EndpointInfo> endpoints;
  std::vector<SubsetInfo> subsets;
  std::string source;                     // "static" or "file:<path>"
  const TlsClientContext* tls = nullptr;  // owned by the snapshot's LoadedConfig; null: plaintext
};

struct ListenerInfo {
  const config::Listener* config = nullptr;
  std::unique_ptr<RouteTable> routes;
  const std::vector<std::shared_ptr<const filters::FilterFactory>>* filters = nullptr;
  const TlsServerContext* tls = nullptr;  // owned by the snapshot's LoadedConfig; null: plaintext
};

// A validated config with what is built once per config (not per registry update): the
// listeners' filter factories, which may hold open files, and the TLS contexts with the
// certificates as they were read.
struct LoadedConfig {
  std::shared_ptr<const config::Config> config;
  std::vector<std::vector<std::shared_ptr<const filters::FilterFactory>>> filters;  // per listener
  std::vector<std::shared_ptr<const TlsServerContext>> listener_tls;  // per listener; null: none
  std::vector<std::shared_ptr<const TlsClientContext>> cluster_tls;   // per cluster; null: none

  // Every certificate, key and CA file the contexts were built from.
  std::vector<TlsFileFingerprint> tlsFiles() const;
};

struct Snapshot {
  uint64_t version = 0;
  std::shared_ptr<const LoadedConfig> loaded;
  const config::Config* config = nullptr;  // loaded->config
  std::vector<ListenerInfo> listeners;
  std::vector<ClusterInfo> clusters;

  const ListenerInfo* findListener(std::string_view name) const;
  const ClusterInfo* findCluster(std::string_view name) const;
};

}  // namespace remora

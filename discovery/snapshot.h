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
#include "discovery/registry_view.h"
#include "filters/filter.h"
#include "proxy/lb/hash_table.h"
#include "proxy/route_table.h"
#include "proxy/tls_context.h"

namespace remora {

// An endpoint's socket address: IPv4 or IPv6, which is all that endpoints are, in 28 bytes
// instead of sockaddr_storage's 128. `reinterpret_cast<const sockaddr*>(&address)` reads it.
union EndpointAddress {
  sockaddr generic;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

// What a snapshot holds per endpoint. A rebuild allocates little per endpoint: metadata points
// into the config or the registry's view the snapshot keeps, texts are shared with other
// endpoints and the previous snapshot's; none of them is ever null. The flags sit together after
// the weight: 16 bytes less per endpoint than beside their texts.
struct EndpointInfo {
  std::string key;  // "host:port": the identity that per-worker state (pools, LB) is keyed by
  EndpointAddress address{};
  socklen_t address_length = 0;
  uint32_t weight = 1;
  bool healthy = true;
  // Out of rotation (but for panic) by outlier detection; `ejection` says why and until when.
  bool ejected = false;
  // When it entered rotation, if its slow start may still ramp its weight (steadyMicros()); 0:
  // at full weight.
  int64_t slow_start_since_us = 0;
  std::shared_ptr<const config::Metadata> meta = emptyMetadata();
  // Why it is out of rotation ("registry: unhealthy", ...); "" when in.
  std::shared_ptr<const std::string> health_reason = emptyText();
  // The active check's verdict ("healthy (HTTP 200)"); "" when unchecked.
  std::shared_ptr<const std::string> health_check = emptyText();
  std::shared_ptr<const std::string> ejection = emptyText();  // "" when not ejected

  static const std::shared_ptr<const config::Metadata>& emptyMetadata();
  static const std::shared_ptr<const std::string>& emptyText();
};

// A set of endpoints chosen by metadata; subset 0 of every cluster is the whole cluster.
struct SubsetInfo {
  config::Metadata selector;
  std::string label;  // "version=v2,zone=a"; "" for the whole cluster
  // Endpoints matching the selector, by index: the healthy ones not ejected; in panic, every one
  // the registry has in (active checks and ejections set aside).
  std::vector<uint32_t> members;
  std::string lb_key;         // "cluster|label": keys per-worker balancer state
  uint64_t generation = 0;    // the snapshot version that built it
  bool equal_weights = true;  // every member has the same weight
  uint64_t total_weight = 0;  // sum of the members' weights
  // Unequal weights: the sum of the weights of members 0..i, for a draw by weight in O(log n).
  std::vector<uint64_t> cumulative_weights;
  // The latest end of a member's slow start (steadyMicros()); 0: no member ramps.
  int64_t slow_start_until_us = 0;
  // Fewer than the cluster's panic_threshold percent of its endpoints were healthy.
  bool panic = false;
  // How many matching endpoints are healthy and not ejected (panic or not): a split target with
  // none gives its weight to the others.
  size_t healthy = 0;
  // ring_hash and maglev: the table over every endpoint the selector matches, in rotation or not.
  std::shared_ptr<const HashTable> hash_table;

  // Appends `endpoints[index]` to the members, keeping the weights' sums.
  void addMember(const std::vector<EndpointInfo>& endpoints, uint32_t index);
  void clearMembers();
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

// A subset that routes select, as compiled once per config.
struct SubsetSpec {
  config::Metadata selector;
  std::string label;   // SubsetInfo::label
  std::string lb_key;  // SubsetInfo::lb_key
};

// A validated config with what is built once per config (not per registry update): the
// listeners' filter factories, which may hold open files, the TLS contexts with the
// certificates as they were read, and the compiled routes.
struct LoadedConfig {
  std::shared_ptr<const config::Config> config;
  std::vector<std::vector<std::shared_ptr<const filters::FilterFactory>>> filters;  // per listener
  std::vector<std::shared_ptr<const TlsServerContext>> listener_tls;  // per listener; null: none
  std::vector<std::shared_ptr<const TlsClientContext>> cluster_tls;   // per cluster; null: none
  // Per listener: its routes with regexes compiled and targets' weights as written. A snapshot
  // copies each with the weights its endpoints' health allows.
  std::vector<std::unique_ptr<const RouteTable>> routes;
  // Per cluster: the subsets routes select, in the order RouteTarget::subset counts them; the
  // first is the whole cluster.
  std::vector<std::vector<SubsetSpec>> subsets;

  // Every certificate, key and CA file the contexts were built from.
  std::vector<TlsFileFingerprint> tlsFiles() const;
};

struct Snapshot {
  uint64_t version = 0;
  std::shared_ptr<const LoadedConfig> loaded;
  const config::Config* config = nullptr;  // loaded->config
  // The registry's view it was built from: endpoints' metadata points into it.
  std::shared_ptr<const discovery::RegistryView> registry;
  std::vector<ListenerInfo> listeners;
  std::vector<ClusterInfo> clusters;

  const ListenerInfo* findListener(std::string_view name) const;
  const ClusterInfo* findCluster(std::string_view name) const;
};

}  // namespace remora

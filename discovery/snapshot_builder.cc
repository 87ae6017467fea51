// Snapshot building: routes compiled once per config; clusters from static endpoints or the
// registry, their subsets and the routes' weights per snapshot.
#include "discovery/snapshot_builder.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "config/canary_reader.h"
#include "discovery/endpoint_interner.h"
#include "filters/registry.h"
#include "proxy/lb/slow_start.h"
#include "proxy/log.h"

namespace remora::discovery {

bool metadataMatches(const config::Metadata& selector, const config::Metadata& meta) {
  for (const auto& [key, value] : selector) {
    auto it = meta.find(key);
    if (it == meta.end() || it->second != value) return false;
  }
  return true;
}

namespace {

std::string subsetLabel(const config::Metadata& selector) {
  std::string label;
  for (const auto& [key, value] : selector) {
    if (!label.empty()) label += ',';
    label += key + "=" + value;
  }
  return label;
}

// The index of `selector` among a cluster's subsets, added if it is new.
uint32_t subsetIndex(const config::Cluster& cluster, std::vector<SubsetSpec>& subsets,
                     const config::Metadata& selector) {
  for (uint32_t i = 0; i < subsets.size(); ++i) {
    if (subsets[i].selector == selector) return i;
  }
  SubsetSpec subset;
  subset.selector = selector;
  subset.label = subsetLabel(selector);
  subset.lb_key = cluster.name + "|" + subset.label;
  subsets.push_back(std::move(subset));
  return static_cast<uint32_t>(subsets.size() - 1);
}

using RouteFilters = std::map<const config::Route*, std::shared_ptr<const FilterFactories>>;

// The factories of every route's own `filters:`; errors with their places.
RouteFilters buildRouteFilters(const config::Config& config, std::vector<Error>& errors) {
  RouteFilters built;
  for (const auto& listener : config.listeners) {
    for (const auto& host : listener.virtual_hosts) {
      for (const auto& route : host.routes) {
        if (route.filters.empty()) continue;
        auto factories = std::make_shared<FilterFactories>();
        for (const auto& filter : route.filters) {
          auto factory = filters::createFilterFactory(filter);
          if (!factory) {
            errors.insert(errors.end(), factory.errors().begin(), factory.errors().end());
            continue;
          }
          factories->push_back(std::move(*factory));
        }
        built.emplace(&route, std::move(factories));
      }
    }
  }
  return built;
}

// A listener's routes as written: regexes compiled, targets with their configured weights.
// Which canary splits which route (the loader checked that each names one route).
using CanaryRoutes = std::map<const config::Route*, int32_t>;

CanaryRoutes canaryRoutes(const config::Config& config) {
  CanaryRoutes out;
  for (size_t i = 0; i < config.canaries.size(); ++i) {
    std::string why;
    if (auto place = config::findRoute(config, config.canaries[i].route, why)) {
      const config::Route& route =
          config.listeners[place->listener].virtual_hosts[place->virtual_host].routes[place->route];
      out[&route] = static_cast<int32_t>(i);
    }
  }
  return out;
}

std::unique_ptr<const RouteTable> compileRoutes(const config::Config& config,
                                                const config::Listener& listener,
                                                const RouteFilters& route_filters,
                                                const CanaryRoutes& canaries,
                                                std::vector<std::vector<SubsetSpec>>& subsets) {
  std::vector<CompiledVirtualHost> hosts;
  for (const config::VirtualHost& host : listener.virtual_hosts) {
    CompiledVirtualHost compiled_host{&host, {}};
    for (const config::Route& route : host.routes) {
      CompiledRoute compiled;
      compiled.config = &route;
      if (auto it = route_filters.find(&route); it != route_filters.end()) {
        compiled.filters = it->second;
      }
      if (route.match.path_kind == config::RouteMatch::PathKind::Regex) {
        compiled.regex = std::make_shared<const re2::RE2>(route.match.path);
      }
      auto findTarget = [&](const std::string& cluster_name, const config::Metadata& subset,
                            uint32_t weight) -> std::optional<RouteTarget> {
        for (uint32_t c = 0; c < config.clusters.size(); ++c) {
          if (config.clusters[c].name != cluster_name) continue;
          return RouteTarget{c, subsetIndex(config.clusters[c], subsets[c], subset), weight};
        }
        return std::nullopt;
      };
      auto addTarget = [&](const std::string& cluster_name, const config::Metadata& subset,
                           uint32_t weight) {
        if (auto target = findTarget(cluster_name, subset, weight)) {
          compiled.targets.push_back(*target);
        }
      };
      if (route.mirror) {
        if (auto target = findTarget(route.mirror->cluster, route.mirror->subset, 0)) {
          compiled.mirror = MirrorTarget{*target, std::make_shared<std::atomic<uint32_t>>(0)};
        }
      }
      if (auto canary = canaries.find(&route); canary != canaries.end()) {
        // Weights are the run's, set per snapshot (routesForHealth).
        const config::Canary& c = config.canaries[static_cast<size_t>(canary->second)];
        compiled.canary = canary->second;
        addTarget(c.cluster, c.canary, 0);
        addTarget(c.cluster, c.baseline, 100);
        // The loader refused a route with both a mirror and a canary in shadow mode.
        if (c.shadow && !compiled.targets.empty()) {
          compiled.mirror =
              MirrorTarget{compiled.targets[0], std::make_shared<std::atomic<uint32_t>>(0)};
          compiled.canary_shadow = true;
        }
      } else if (!route.cluster.empty()) {
        addTarget(route.cluster, route.subset, 1);
      }
      for (const auto& split : route.split) addTarget(split.cluster, split.subset, split.weight);
      compiled_host.routes.push_back(std::move(compiled));
    }
    hosts.push_back(std::move(compiled_host));
  }
  return std::make_unique<const RouteTable>(std::move(hosts));
}

// A snapshot's copy of a listener's routes: a split target with no healthy endpoint gives its
// weight to the others, so a canary subset that is empty or down (every endpoint failing its
// checks or ejected) does not black-hole its share of the traffic.
std::unique_ptr<RouteTable> routesForHealth(const RouteTable& configured,
                                            const std::vector<ClusterInfo>& clusters,
                                            const CanaryWeights* canary_weights) {
  std::vector<CompiledVirtualHost> hosts = configured.hosts();
  for (CompiledVirtualHost& host : hosts) {
    for (CompiledRoute& route : host.routes) {
      if (route.canary >= 0 && canary_weights != nullptr) {
        const auto index = static_cast<size_t>(route.canary);
        const CanaryShare share =
            index < canary_weights->size() ? (*canary_weights)[index] : CanaryShare{};
        route.targets[0].weight = share.weight;
        route.targets[1].weight = 100 - share.weight;
        // The canary's shadow copies go while its run is at the shadow step.
        if (route.canary_shadow && !share.shadow) route.mirror.reset();
      }
      // In panic a subset balances over unhealthy endpoints too; a split target goes there only
      // when no target has a healthy one.
      auto empty = [&](const RouteTarget& target) {
        return clusters[target.cluster].subsets[target.subset].healthy == 0;
      };
      bool any_healthy = false;
      for (const auto& target : route.targets) {
        any_healthy = any_healthy || (!empty(target) && target.weight > 0);
      }
      if (!any_healthy) continue;
      for (auto& target : route.targets) {
        if (empty(target)) target.weight = 0;
      }
    }
  }
  return std::make_unique<RouteTable>(configured, std::move(hosts));
}

// An IP literal without a lookup; anything else through resolveAddress (the system's resolver).
bool endpointAddress(const config::Address& address, EndpointAddress& out, socklen_t& length,
                     std::string& error) {
  if (inet_pton(AF_INET, address.host.c_str(), &out.v4.sin_addr) == 1) {
    out.v4.sin_family = AF_INET;
    out.v4.sin_port = htons(address.port);
    length = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, address.host.c_str(), &out.v6.sin6_addr) == 1) {
    out.v6.sin6_family = AF_INET6;
    out.v6.sin6_port = htons(address.port);
    out.v6.sin6_flowinfo = 0;
    out.v6.sin6_scope_id = 0;
    length = sizeof(sockaddr_in6);
    return true;
  }
  sockaddr_storage storage{};
  if (!resolveAddress(address, storage, length, error)) return false;
  if (length > sizeof(EndpointAddress)) {
    error = "not an IPv4 or IPv6 address";
    return false;
  }
  std::memcpy(&out, &storage, length);
  return true;
}

// `meta` is the endpoint's metadata, shared: never a copy per snapshot.
EndpointInfo makeEndpoint(const config::Endpoint& endpoint,
                          std::shared_ptr<const config::Metadata> meta,
                          EndpointInterner& interner) {
  EndpointInfo info;
  info.key = endpoint.address.text();
  info.weight = endpoint.weight;
  info.meta = std::move(meta);
  std::string error;
  if (!endpointAddress(endpoint.address, info.address, info.address_length, error)) {
    info.healthy = false;
    info.health_reason = interner.text("unresolved: " + error);
  }
  return info;
}

}  // namespace

bool resolveAddress(const config::Address& address, sockaddr_storage& out, socklen_t& length,
                    std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(address.port);
  int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    error = gai_strerror(rc);
    return false;
  }
  std::memcpy(&out, result->ai_addr, result->ai_addrlen);
  length = result->ai_addrlen;
  freeaddrinfo(result);
  return true;
}

Result<std::shared_ptr<const LoadedConfig>> prepareConfig(
    std::shared_ptr<const config::Config> config) {
  std::vector<Error> errors;
  auto loaded = std::make_shared<LoadedConfig>();
  for (const auto& listener : config->listeners) {
    std::vector<std::shared_ptr<const filters::FilterFactory>> factories;
    for (const auto& filter : listener.filters) {
      auto factory = filters::createFilterFactory(filter);
      if (!factory) {
        errors.insert(errors.end(), factory.errors().begin(), factory.errors().end());
        continue;
      }
      factories.push_back(std::move(*factory));
    }
    loaded->filters.push_back(std::move(factories));
    std::shared_ptr<const TlsServerContext> tls;
    if (listener.tls) {
      auto context = TlsServerContext::create(*listener.tls, "listener '" + listener.name + "'",
                                              listenerAlpn(listener.protocol));
      if (context) {
        tls = std::move(*context);
      } else {
        errors.insert(errors.end(), context.errors().begin(), context.errors().end());
      }
    }
    loaded->listener_tls.push_back(std::move(tls));
  }
  for (const auto& cluster : config->clusters) {
    std::shared_ptr<const TlsClientContext> tls;
    if (cluster.tls) {
      auto context = TlsClientContext::create(
          *cluster.tls, "cluster '" + cluster.name + "'",
          {cluster.protocol == config::HttpProtocol::Http2 ? "h2" : "http/1.1"});
      if (context) {
        tls = std::move(*context);
      } else {
        errors.insert(errors.end(), context.errors().begin(), context.errors().end());
      }
    }
    loaded->cluster_tls.push_back(std::move(tls));
  }
  const RouteFilters route_filters = buildRouteFilters(*config, errors);
  if (!errors.empty()) return errors;
  loaded->subsets.resize(config->clusters.size());
  for (size_t c = 0; c < config->clusters.size(); ++c) {
    subsetIndex(config->clusters[c], loaded->subsets[c], {});
  }
  const CanaryRoutes canaries = canaryRoutes(*config);
  for (const auto& listener : config->listeners) {
    loaded->routes.push_back(
        compileRoutes(*config, listener, route_filters, canaries, loaded->subsets));
  }
  loaded->config = std::move(config);
  return std::shared_ptr<const LoadedConfig>(std::move(loaded));
}

namespace {

// An endpoint is in rotation only when the registry and the active checks both have it in.
// `checked` is the address the checks go to: the endpoint's own, or the host name it came from.
void applyActiveHealth(const config::Cluster& cluster, const HealthChecker* health,
                       const std::string& checked, EndpointInterner& interner,
                       EndpointInfo& endpoint) {
  if (!cluster.health_check || health == nullptr) return;
  const TargetHealth* result = health->find(cluster.name, checked);
  if (result == nullptr || result->state == TargetHealth::State::Unknown) {
    endpoint.health_check = interner.text("pending");
    return;
  }
  const bool healthy = result->state == TargetHealth::State::Healthy;
  endpoint.health_check = interner.text(std::string(healthy ? "healthy" : "unhealthy") + " (" +
                                        result->last_result + ")");
  if (!healthy && endpoint.healthy) {
    endpoint.healthy = false;
    endpoint.health_reason = interner.text("health check: " + result->last_result);
  }
}

}  // namespace

std::vector<HealthTarget> healthTargets(const config::Config& config,
                                        const RegistryView& registry) {
  std::vector<HealthTarget> targets;
  for (const config::Cluster& cluster : config.clusters) {
    if (!cluster.health_check) continue;
    auto add = [&](const config::Endpoint& endpoint) {
      targets.push_back({cluster.name, endpoint.address, *cluster.health_check});
    };
    if (cluster.service.empty()) {
      for (const auto& endpoint : cluster.endpoints) add(endpoint);
      continue;
    }
    auto it = registry.services.find(cluster.service);
    if (it == registry.services.end()) continue;
    for (const auto& entry : it->second) add(entry.endpoint);
  }
  return targets;
}

namespace {

// A subset's members: the healthy endpoints that are not ejected. When fewer than
// `panic_threshold` percent of the endpoints the registry has in are, it balances over all of
// those instead: remora's own judgement (active checks, ejections) may be what is wrong, and
// spreading the load beats piling it on the few left. What the registry took out stays out.
SubsetInfo buildSubset(const SubsetSpec& spec, const std::vector<EndpointInfo>& endpoints,
                       const std::vector<bool>& registered, uint32_t panic_threshold,
                       uint64_t version) {
  SubsetInfo subset;
  subset.selector = spec.selector;
  subset.label = spec.label;
  subset.lb_key = spec.lb_key;
  subset.generation = version;
  size_t candidates = 0;
  for (uint32_t e = 0; e < endpoints.size(); ++e) {
    const EndpointInfo& endpoint = endpoints[e];
    if (!metadataMatches(spec.selector, *endpoint.meta)) continue;
    if (registered[e]) ++candidates;
    if (endpoint.healthy && !endpoint.ejected) subset.addMember(endpoints, e);
  }
  subset.healthy = subset.members.size();
  if (panic_threshold == 0 || candidates == 0 ||
      subset.members.size() * 100 >= uint64_t{panic_threshold} * candidates) {
    return subset;
  }
  subset.panic = true;
  subset.clearMembers();
  for (uint32_t e = 0; e < endpoints.size(); ++e) {
    if (registered[e] && metadataMatches(spec.selector, *endpoints[e].meta)) {
      subset.addMember(endpoints, e);
    }
  }
  return subset;
}

// When the last of `subset`'s members to enter rotation ends its slow start; 0: none ramps.
int64_t slowStartUntil(const config::Cluster& cluster, const SubsetInfo& subset,
                       const std::vector<EndpointInfo>& endpoints) {
  int64_t until = 0;
  for (uint32_t m : subset.members) {
    const int64_t since = endpoints[m].slow_start_since_us;
    if (since != 0) until = std::max(until, since + cluster.slow_start.window.count() * 1000);
  }
  return until;
}

// The consistent-hash table over every endpoint `spec` selects, in rotation or not: one that
// leaves rotation is walked past, and the others keep their keys.
std::shared_ptr<const HashTable> hashTableOf(const config::Cluster& cluster, const SubsetSpec& spec,
                                             const std::vector<EndpointInfo>& endpoints,
                                             BuildMemory* memory) {
  std::vector<HashMember> members;
  for (uint32_t e = 0; e < endpoints.size(); ++e) {
    if (metadataMatches(spec.selector, *endpoints[e].meta)) {
      members.push_back({endpoints[e].key, endpoints[e].weight, e});
    }
  }
  if (memory != nullptr)
    return memory->hash_tables.tableFor(cluster, spec.lb_key, std::move(members));
  return buildHashTable(cluster, members);
}

// One endpoint as written (static or from the registry) as what workers dial: an IP literal as
// it is; a name as every address its last good answer gave (with `meta.hostname`), or out of
// rotation until it has one. Never a blocking lookup: the main thread must keep serving the
// registry. Without a resolver (`hosts` null, as in tests) the system's resolves it.
// `owner` keeps `endpoint` alive (the config, or the registry's view): what the snapshot's
// endpoints' metadata points into.
void appendEndpoints(const config::Endpoint& endpoint, const std::shared_ptr<const void>& owner,
                     const dns::StaticHosts* hosts, EndpointInterner& interner,
                     std::vector<EndpointInfo>& out) {
  const dns::HostAddresses* resolved =
      hosts == nullptr || dns::StaticHosts::isLiteral(endpoint.address.host)
          ? nullptr
          : hosts->find(endpoint.address.host);
  auto meta = [&] {
    return endpoint.meta.empty() ? EndpointInfo::emptyMetadata()
                                 : std::shared_ptr<const config::Metadata>(owner, &endpoint.meta);
  };
  if (resolved == nullptr) {
    out.push_back(makeEndpoint(endpoint, meta(), interner));
    return;
  }
  if (!resolved->resolved) {
    EndpointInfo pending;
    pending.key = endpoint.address.text();
    pending.weight = endpoint.weight;
    pending.meta = meta();
    pending.healthy = false;
    pending.health_reason =
        interner.text("unresolved: " + (resolved->error.empty() ? "resolving" : resolved->error));
    out.push_back(std::move(pending));
    return;
  }
  for (const std::string& ip : resolved->addresses) {
    config::Endpoint one = endpoint;
    one.address.host = ip;
    one.meta.emplace("hostname", endpoint.address.host);
    out.push_back(makeEndpoint(one, interner.metadata(one.meta), interner));
  }
}

}  // namespace

std::set<std::string> hostNames(const config::Config& config, const RegistryView& registry) {
  std::set<std::string> names;
  auto add = [&](const config::Endpoint& endpoint) {
    if (!dns::StaticHosts::isLiteral(endpoint.address.host)) names.insert(endpoint.address.host);
  };
  for (const config::Cluster& cluster : config.clusters) {
    for (const auto& endpoint : cluster.endpoints) add(endpoint);
    auto it =
        cluster.service.empty() ? registry.services.end() : registry.services.find(cluster.service);
    if (it == registry.services.end()) continue;
    for (const auto& entry : it->second) add(entry.endpoint);
  }
  return names;
}

std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              const RegistryView& registry,
                                              const HealthChecker* health,
                                              const dns::StaticHosts* hosts, uint64_t version) {
  return buildSnapshot(std::move(loaded), std::make_shared<const RegistryView>(registry), health,
                       hosts, version, nullptr);
}

std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              std::shared_ptr<const RegistryView> view,
                                              const HealthChecker* health,
                                              const dns::StaticHosts* hosts, uint64_t version,
                                              BuildMemory* memory,
                                              const outlier::OutlierDetector* outliers,
                                              const CanaryWeights* canary_weights) {
  const RegistryView& registry = *view;
  EndpointInterner own;  // without one that lives on, endpoints share within this snapshot
  EndpointInterner& shared = memory != nullptr ? memory->interner : own;
  SlowStartTracker* slow_start = memory != nullptr ? &memory->slow_start : nullptr;
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->config = loaded->config.get();
  const config::Config& config = *loaded->config;
  snapshot->clusters.reserve(config.clusters.size());
  const int64_t now_us = steadyMicros();
  for (size_t c = 0; c < config.clusters.size(); ++c) {
    const config::Cluster& cluster = config.clusters[c];
    ClusterInfo info;
    info.config = &cluster;
    info.tls = loaded->cluster_tls[c].get();
    // Endpoints the registry has in and that have an address: what panic balances over.
    std::vector<bool> registered;
    if (cluster.service.empty()) {
      info.source = "static";
      for (const auto& endpoint : cluster.endpoints) {
        const size_t first = info.endpoints.size();
        appendEndpoints(endpoint, loaded->config, hosts, shared, info.endpoints);
        for (size_t e = first; e < info.endpoints.size(); ++e) {
          applyActiveHealth(cluster, health, endpoint.address.text(), shared, info.endpoints[e]);
        }
      }
    } else {
      info.source = registry.source;
      auto it = registry.services.find(cluster.service);
      if (it != registry.services.end()) {
        info.endpoints.reserve(it->second.size());
        for (const auto& entry : it->second) {
          const size_t first = info.endpoints.size();
          appendEndpoints(entry.endpoint, view, hosts, shared, info.endpoints);
          for (size_t e = first; e < info.endpoints.size(); ++e) {
            EndpointInfo& endpoint = info.endpoints[e];
            registered.resize(e + 1, true);
            registered[e] = entry.healthy;
            if (!entry.healthy && endpoint.healthy) {
              endpoint.healthy = false;
              endpoint.health_reason = shared.text("registry: " + entry.health_reason);
            }
            applyActiveHealth(cluster, health, entry.endpoint.address.text(), shared, endpoint);
          }
        }
      }
    }
    registered.resize(info.endpoints.size(), true);
    for (size_t e = 0; e < info.endpoints.size(); ++e) {
      EndpointInfo& endpoint = info.endpoints[e];
      if (endpoint.address_length == 0) registered[e] = false;
      const outlier::Ejection* ejection =
          outliers != nullptr ? outliers->ejection(cluster.name, endpoint.key) : nullptr;
      if (ejection != nullptr) {
        endpoint.ejected = true;
        endpoint.ejection = shared.text(ejection->reason);
      }
    }
    if (slow_start != nullptr && cluster.slow_start.enabled) {
      slow_start->mark(cluster, info.endpoints, now_us);
    }
    info.subsets.reserve(loaded->subsets[c].size());
    for (const SubsetSpec& spec : loaded->subsets[c]) {
      info.subsets.push_back(
          buildSubset(spec, info.endpoints, registered, cluster.panic_threshold, version));
      info.subsets.back().slow_start_until_us =
          slowStartUntil(cluster, info.subsets.back(), info.endpoints);
      if (cluster.lb == config::LbPolicy::RingHash || cluster.lb == config::LbPolicy::Maglev) {
        info.subsets.back().hash_table = hashTableOf(cluster, spec, info.endpoints, memory);
      }
    }
    snapshot->clusters.push_back(std::move(info));
  }
  snapshot->listeners.reserve(config.listeners.size());
  for (size_t l = 0; l < config.listeners.size(); ++l) {
    ListenerInfo info;
    info.config = &config.listeners[l];
    info.filters = &loaded->filters[l];
    info.tls = loaded->listener_tls[l].get();
    info.routes = routesForHealth(*loaded->routes[l], snapshot->clusters, canary_weights);
    snapshot->listeners.push_back(std::move(info));
  }
  if (memory != nullptr) {
    memory->slow_start.retain(config);
    memory->hash_tables.sweep();
  }
  snapshot->loaded = std::move(loaded);
  snapshot->registry = std::move(view);
  return snapshot;
}

}  // namespace remora::discovery

// Snapshot building: clusters from static endpoints or the registry, subsets, compiled routes.
#include "discovery/snapshot_builder.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "filters/registry.h"
#include "proxy/log.h"

namespace remora::discovery {

namespace {

std::string subsetLabel(const config::Metadata& selector) {
  std::string label;
  for (const auto& [key, value] : selector) {
    if (!label.empty()) label += ',';
    label += key + "=" + value;
  }
  return label;
}

bool metadataMatches(const config::Metadata& selector, const config::Metadata& meta) {
  for (const auto& [key, value] : selector) {
    auto it = meta.find(key);
    if (it == meta.end() || it->second != value) return false;
  }
  return true;
}

uint32_t subsetIndex(ClusterInfo& cluster, const config::Metadata& selector) {
  for (uint32_t i = 0; i < cluster.subsets.size(); ++i) {
    if (cluster.subsets[i].selector == selector) return i;
  }
  SubsetInfo subset;
  subset.selector = selector;
  subset.label = subsetLabel(selector);
  subset.lb_key = cluster.config->name + "|" + subset.label;
  for (uint32_t e = 0; e < cluster.endpoints.size(); ++e) {
    const EndpointInfo& endpoint = cluster.endpoints[e];
    if (endpoint.healthy && metadataMatches(selector, endpoint.meta)) {
      subset.members.push_back(e);
    }
  }
  cluster.subsets.push_back(std::move(subset));
  return static_cast<uint32_t>(cluster.subsets.size() - 1);
}

EndpointInfo makeEndpoint(const config::Endpoint& endpoint) {
  EndpointInfo info;
  info.key = endpoint.address.text();
  info.weight = endpoint.weight;
  info.meta = endpoint.meta;
  std::string error;
  if (!resolveAddress(endpoint.address, info.address, info.address_length, error)) {
    info.healthy = false;
    info.health_reason = "unresolved: " + error;
  }
  return info;
}

std::vector<CompiledRoute> compileRoutes(const config::VirtualHost& host, Snapshot& snapshot) {
  std::vector<CompiledRoute> routes;
  for (const config::Route& route : host.routes) {
    CompiledRoute compiled;
    compiled.config = &route;
    if (route.match.path_kind == config::RouteMatch::PathKind::Regex) {
      compiled.regex = std::make_unique<re2::RE2>(route.match.path);
    }
    auto addTarget = [&](const std::string& cluster_name, const config::Metadata& subset,
                         uint32_t weight) {
      for (uint32_t c = 0; c < snapshot.clusters.size(); ++c) {
        if (snapshot.clusters[c].config->name != cluster_name) continue;
        compiled.targets.push_back({c, subsetIndex(snapshot.clusters[c], subset), weight});
        return;
      }
    };
    if (!route.cluster.empty()) addTarget(route.cluster, route.subset, 1);
    for (const auto& split : route.split) addTarget(split.cluster, split.subset, split.weight);
    // A split target with no healthy endpoint gives its weight to the others, so a canary
    // subset that is empty or down does not black-hole its share of the traffic.
    bool any_healthy = false;
    for (const auto& target : compiled.targets) {
      const auto& subset = snapshot.clusters[target.cluster].subsets[target.subset];
      any_healthy = any_healthy || (!subset.members.empty() && target.weight > 0);
    }
    if (any_healthy) {
      for (auto& target : compiled.targets) {
        if (snapshot.clusters[target.cluster].subsets[target.subset].members.empty()) {
          target.weight = 0;
        }
      }
    }
    routes.push_back(std::move(compiled));
  }
  return routes;
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
  if (!errors.empty()) return errors;
  loaded->config = std::move(config);
  return std::shared_ptr<const LoadedConfig>(std::move(loaded));
}

namespace {

// An endpoint is in rotation only when the registry and the active checks both have it in.
// `checked` is the address the checks go to: the endpoint's own, or the host name it came from.
void applyActiveHealth(const config::Cluster& cluster, const HealthChecker* health,
                       const std::string& checked, EndpointInfo& endpoint) {
  if (!cluster.health_check || health == nullptr) return;
  const TargetHealth* result = health->find(cluster.name, checked);
  if (result == nullptr || result->state == TargetHealth::State::Unknown) {
    endpoint.health_check = "pending";
    return;
  }
  const bool healthy = result->state == TargetHealth::State::Healthy;
  endpoint.health_check =
      std::string(healthy ? "healthy" : "unhealthy") + " (" + result->last_result + ")";
  if (!healthy && endpoint.healthy) {
    endpoint.healthy = false;
    endpoint.health_reason = "health check: " + result->last_result;
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

// One endpoint as written (static or from the registry) as what workers dial: an IP literal as
// it is; a name as every address its last good answer gave (with `meta.hostname`), or out of
// rotation until it has one. Never a blocking lookup: the main thread must keep serving the
// registry. Without a resolver (`hosts` null, as in tests) the system's resolves it.
void appendEndpoints(const config::Endpoint& endpoint, const dns::StaticHosts* hosts,
                     std::vector<EndpointInfo>& out) {
  const dns::HostAddresses* resolved =
      hosts == nullptr || dns::StaticHosts::isLiteral(endpoint.address.host)
          ? nullptr
          : hosts->find(endpoint.address.host);
  if (resolved == nullptr) {
    out.push_back(makeEndpoint(endpoint));
    return;
  }
  if (!resolved->resolved) {
    EndpointInfo pending;
    pending.key = endpoint.address.text();
    pending.weight = endpoint.weight;
    pending.meta = endpoint.meta;
    pending.healthy = false;
    pending.health_reason =
        "unresolved: " + (resolved->error.empty() ? "resolving" : resolved->error);
    out.push_back(std::move(pending));
    return;
  }
  for (const std::string& ip : resolved->addresses) {
    config::Endpoint one = endpoint;
    one.address.host = ip;
    one.meta.emplace("hostname", endpoint.address.host);
    out.push_back(makeEndpoint(one));
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
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->config = loaded->config.get();
  const config::Config& config = *loaded->config;
  for (size_t c = 0; c < config.clusters.size(); ++c) {
    const config::Cluster& cluster = config.clusters[c];
    ClusterInfo info;
    info.config = &cluster;
    info.tls = loaded->cluster_tls[c].get();
    if (cluster.service.empty()) {
      info.source = "static";
      for (const auto& endpoint : cluster.endpoints) {
        const size_t first = info.endpoints.size();
        appendEndpoints(endpoint, hosts, info.endpoints);
        for (size_t e = first; e < info.endpoints.size(); ++e) {
          applyActiveHealth(cluster, health, endpoint.address.text(), info.endpoints[e]);
        }
      }
    } else {
      info.source = registry.source;
      auto it = registry.services.find(cluster.service);
      if (it != registry.services.end()) {
        for (const auto& entry : it->second) {
          const size_t first = info.endpoints.size();
          appendEndpoints(entry.endpoint, hosts, info.endpoints);
          for (size_t e = first; e < info.endpoints.size(); ++e) {
            EndpointInfo& endpoint = info.endpoints[e];
            if (!entry.healthy && endpoint.healthy) {
              endpoint.healthy = false;
              endpoint.health_reason = "registry: " + entry.health_reason;
            }
            applyActiveHealth(cluster, health, entry.endpoint.address.text(), endpoint);
          }
        }
      }
    }
    snapshot->clusters.push_back(std::move(info));
    subsetIndex(snapshot->clusters.back(), {});
  }
  for (size_t l = 0; l < config.listeners.size(); ++l) {
    const config::Listener& listener = config.listeners[l];
    ListenerInfo info;
    info.config = &listener;
    info.filters = &loaded->filters[l];
    info.tls = loaded->listener_tls[l].get();
    std::vector<CompiledVirtualHost> hosts;
    for (const auto& host : listener.virtual_hosts) {
      hosts.push_back({&host, compileRoutes(host, *snapshot)});
    }
    info.routes = std::make_unique<RouteTable>(std::move(hosts));
    snapshot->listeners.push_back(std::move(info));
  }
  for (auto& cluster : snapshot->clusters) {
    for (auto& subset : cluster.subsets) {
      subset.generation = version;
      for (uint32_t m : subset.members) {
        const uint32_t weight = cluster.endpoints[m].weight;
        subset.total_weight += weight;
        subset.equal_weights =
            subset.equal_weights && weight == cluster.endpoints[subset.members[0]].weight;
      }
    }
  }
  snapshot->loaded = std::move(loaded);
  return snapshot;
}

}  // namespace remora::discovery

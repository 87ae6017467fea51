// The effective config as JSON, every default filled in, for GET /config_dump.
#include "config/dump.h"

#include "config/duration.h"
#include "config/retry_reader.h"

namespace remora::config {
namespace {

using nlohmann::json;

std::string_view protocolName(HttpProtocol protocol) {
  switch (protocol) {
    case HttpProtocol::Auto:
      return "auto";
    case HttpProtocol::Http1:
      return "http1";
    case HttpProtocol::Http2:
      return "http2";
  }
  return "auto";
}

// Plain scalars that YAML's core schema reads as booleans or numbers keep that type, so a filter
// config dumps as `{"burst": 100}` rather than `{"burst": "100"}`; quoted ones stay strings.
json scalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return text;
  if (text == "true" || text == "false") return text == "true";
  json number = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (number.is_number()) return number;
  return text;
}

// The loader rejected cyclic and oversized trees, so this recursion is bounded.
json yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalarToJson(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const YAML::Node& item : node) out.push_back(yamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        out[it->first.Scalar()] = yamlToJson(it->second);
      }
      return out;
    }
    default:
      return nullptr;
  }
}

json headerMutationsToJson(const HeaderMutations& mutations) {
  json add = json::object();
  for (const auto& [name, value] : mutations.add) add[name] = value;
  return {{"add", add}, {"remove", mutations.remove}};
}

json filtersToJson(const std::vector<FilterConfig>& filters) {
  json out = json::array();
  for (const FilterConfig& filter : filters)
    out.push_back({{filter.name, yamlToJson(filter.config)}});
  return out;
}

// `listener_idle` is the listener's stream_idle_timeout, in effect unless the route overrides it.
json routeToJson(const Route& route, Duration listener_idle) {
  json out = {{"name", route.name}, {"match", routeMatchToJson(route.match)}};
  if (!route.cluster.empty()) {
    out["cluster"] = route.cluster;
    out["subset"] = route.subset;
  }
  if (!route.split.empty()) {
    json split = json::array();
    for (const WeightedCluster& entry : route.split) {
      split.push_back(
          {{"cluster", entry.cluster}, {"subset", entry.subset}, {"weight", entry.weight}});
    }
    out["split"] = split;
  }
  if (route.direct_response) {
    out["direct_response"] = {{"status", route.direct_response->status},
                              {"body", route.direct_response->body}};
  }
  out["timeout"] = formatDuration(route.timeout);
  if (route.retry) {
    const RetryPolicy& retry = *route.retry;
    out["retry"] = {{"attempts", retry.attempts},
                    {"on", retryConditionNames(retry)},
                    {"per_try_timeout", formatDuration(retry.per_try_timeout)},
                    {"backoff",
                     {{"base", formatDuration(retry.backoff_base)},
                      {"max", formatDuration(retry.backoff_max)}}},
                    {"max_body_bytes", retry.max_body_bytes}};
  }
  if (!route.hash.empty()) {
    json hash = json::array();
    for (const HashPolicy& policy : route.hash) {
      switch (policy.kind) {
        case HashPolicy::Kind::Header:
          hash.push_back({{"header", policy.name}});
          break;
        case HashPolicy::Kind::Cookie:
          hash.push_back(
              {{"cookie", {{"name", policy.name}, {"ttl", formatDuration(policy.cookie_ttl)}}}});
          break;
        case HashPolicy::Kind::SourceIp:
          hash.push_back({{"source_ip", true}});
          break;
        case HashPolicy::Kind::Query:
          hash.push_back({{"query", policy.name}});
          break;
      }
    }
    out["hash"] = std::move(hash);
  }
  if (route.mirror) {
    const Mirror& mirror = *route.mirror;
    out["mirror"] = {{"cluster", mirror.cluster},
                     {"subset", mirror.subset},
                     {"percent", mirror.percent},
                     {"compare", mirror.compare_body ? json{{"body", true}} : json(mirror.compare)},
                     {"max_body_bytes", mirror.max_body_bytes},
                     {"max_concurrent", mirror.max_concurrent},
                     {"timeout", formatDuration(mirrorTimeout(route))}};
  }
  out["request_headers"] = headerMutationsToJson(route.request_headers);
  out["response_headers"] = headerMutationsToJson(route.response_headers);
  out["filters"] = filtersToJson(route.filters);
  out["stream_idle_timeout"] = formatDuration(route.stream_idle_timeout.value_or(listener_idle));
  return out;
}

json listenerToJson(const Listener& listener) {
  json hosts = json::array();
  for (const VirtualHost& host : listener.virtual_hosts) {
    json routes = json::array();
    for (const Route& route : host.routes) {
      routes.push_back(routeToJson(route, listener.stream_idle_timeout));
    }
    hosts.push_back({{"name", host.name}, {"domains", host.domains}, {"routes", routes}});
  }
  json out = {{"name", listener.name},
              {"address", listener.address.text()},
              {"filters", filtersToJson(listener.filters)},
              {"virtual_hosts", hosts},
              {"max_request_headers_bytes", listener.max_request_headers_bytes},
              {"max_request_headers_count", listener.max_request_headers_count},
              {"request_header_timeout", formatDuration(listener.request_header_timeout)},
              {"idle_timeout", formatDuration(listener.idle_timeout)},
              {"max_connections", listener.max_connections},
              {"protocol", protocolName(listener.protocol)},
              {"http2",
               {{"max_concurrent_streams", listener.http2.max_concurrent_streams},
                {"initial_stream_window_size", listener.http2.initial_stream_window_size},
                {"initial_connection_window_size", listener.http2.initial_connection_window_size}}},
              {"stream_idle_timeout", formatDuration(listener.stream_idle_timeout)},
              {"trusted", listener.trusted},
              {"max_buffered_body_bytes", listener.max_buffered_body_bytes}};
  // Paths only: the key material itself never leaves the process.
  if (listener.tls) {
    out["tls"] = {
        {"cert", listener.tls->cert}, {"key", listener.tls->key}, {"ca", listener.tls->ca}};
  }
  return out;
}

json healthCheckToJson(const HealthCheck& check) {
  return {{"path", check.path},
          {"interval", formatDuration(check.interval)},
          {"timeout", formatDuration(check.timeout)},
          {"healthy_threshold", check.healthy_threshold},
          {"unhealthy_threshold", check.unhealthy_threshold}};
}

// Secrets show only whether they are set.
std::string redacted(const std::string& secret) { return secret.empty() ? "" : "<redacted>"; }

// A registry's TLS keys, as written in the config (file paths: nothing secret).
void addTls(json& provider, const RegistryTls& tls) {
  provider["ca"] = tls.ca;
  provider["cert"] = tls.cert;
  provider["key"] = tls.key;
  provider["tls_server_name"] = tls.server_name;
}

json registryToJson(const Registry& registry) {
  json out = json::object();
  if (registry.file) out["file"] = {{"path", registry.file->path}};
  if (registry.consul) {
    const ConsulRegistry& consul = *registry.consul;
    out["consul"] = {
        {"address", consul.address},
        {"token", redacted(consul.token)},
        {"datacenter", consul.datacenter},
        {"stale", consul.stale},
        {"wait", formatDuration(consul.wait)},
        {"check", consul.check == ConsulRegistry::Check::Ttl ? "ttl" : "http"},
        {"deregister_critical_after", formatDuration(consul.deregister_critical_after)}};
    addTls(out["consul"], consul.tls);
  }
  if (registry.etcd) {
    const EtcdRegistry& etcd = *registry.etcd;
    out["etcd"] = {{"endpoints", etcd.endpoints},
                   {"prefix", etcd.prefix},
                   {"lease_ttl", formatDuration(etcd.lease_ttl)},
                   {"username", etcd.username},
                   {"password", redacted(etcd.password)}};
    addTls(out["etcd"], etcd.tls);
  }
  if (registry.dns) {
    const DnsRegistry& dns = *registry.dns;
    json servers = json::array();
    for (const Address& server : dns.servers) servers.push_back(server.text());
    out["dns"] = {{"servers", servers},
                  {"domain", dns.domain},
                  {"min_ttl", formatDuration(dns.min_ttl)},
                  {"timeout", formatDuration(dns.timeout)}};
  }
  return out;
}

json serviceToJson(const Service& service) {
  json out = {
      {"name", service.name},
      {"id", service.id},
      {"address", service.address},
      {"port", service.port},
      {"tags", service.tags},
      {"meta", service.meta},
      {"weights", {{"passing", service.weight_passing}, {"warning", service.weight_warning}}}};
  if (service.app) {
    out["app"] = service.app->text();
    out["health"] = healthCheckToJson(service.health);
  }
  return out;
}

// Blocks turned off show as `off`, the way they are written.
json circuitBreakerToJson(const CircuitBreaker& breaker) {
  if (!breaker.enabled) return "off";
  return {{"max_connections", breaker.max_connections},
          {"max_pending_requests", breaker.max_pending_requests},
          {"max_requests", breaker.max_requests},
          {"max_retries", breaker.max_retries},
          {"max_connections_per_endpoint", breaker.max_connections_per_endpoint},
          {"pending_timeout", formatDuration(breaker.pending_timeout)}};
}

json outlierDetectionToJson(const OutlierDetection& detection) {
  if (!detection.enabled) return "off";
  const OutlierDetection::FailurePercentage& percentage = detection.failure_percentage;
  json failure_percentage = "off";
  if (percentage.enabled) {
    failure_percentage = {{"threshold", percentage.threshold},
                          {"min_requests", percentage.min_requests}};
  }
  return {{"consecutive_5xx", detection.consecutive_5xx},
          {"consecutive_gateway_failure", detection.consecutive_gateway_failure},
          {"consecutive_local_origin_failure", detection.consecutive_local_origin_failure},
          {"failure_percentage", failure_percentage},
          {"interval", formatDuration(detection.interval)},
          {"base_ejection_time", formatDuration(detection.base_ejection_time)},
          {"max_ejection_time", formatDuration(detection.max_ejection_time)},
          {"max_ejection_percent", detection.max_ejection_percent}};
}

json clusterToJson(const Cluster& cluster) {
  json out = {{"name", cluster.name}};
  if (cluster.service.empty()) {
    json endpoints = json::array();
    for (const Endpoint& endpoint : cluster.endpoints) {
      endpoints.push_back({{"address", endpoint.address.text()},
                           {"weight", endpoint.weight},
                           {"meta", endpoint.meta}});
    }
    out["endpoints"] = endpoints;
  } else {
    out["service"] = cluster.service;
  }
  out["lb"] = lbPolicyName(cluster.lb);
  if (cluster.lb == LbPolicy::RingHash) {
    out["ring_hash"] = {{"min_ring_size", cluster.ring_hash.min_ring_size},
                        {"balance_factor", cluster.ring_hash.balance_factor}};
  }
  if (cluster.slow_start.enabled) {
    out["slow_start"] = {{"window", formatDuration(cluster.slow_start.window)},
                         {"aggression", cluster.slow_start.aggression},
                         {"min_weight_percent", cluster.slow_start.min_weight_percent}};
  }
  out["protocol"] = protocolName(cluster.protocol);
  out["connect_timeout"] = formatDuration(cluster.connect_timeout);
  out["idle_timeout"] = formatDuration(cluster.idle_timeout);
  out["max_idle_connections"] = cluster.max_idle_connections;
  out["max_response_headers_bytes"] = cluster.max_response_headers_bytes;
  out["retry_budget"] = {{"percent", cluster.retry_budget.percent},
                         {"min_concurrency", cluster.retry_budget.min_concurrency}};
  if (cluster.tls) {
    out["tls"] = {{"ca", cluster.tls->ca},
                  {"cert", cluster.tls->cert},
                  {"key", cluster.tls->key},
                  {"sni", cluster.tls->sni}};
  }
  if (cluster.health_check) out["health_check"] = healthCheckToJson(*cluster.health_check);
  out["circuit_breaker"] = circuitBreakerToJson(cluster.circuit_breaker);
  out["outlier_detection"] = outlierDetectionToJson(cluster.outlier_detection);
  out["panic_threshold"] = cluster.panic_threshold;
  return out;
}

json canaryToJson(const Canary& canary) {
  const Canary::Analysis& a = canary.analysis;
  json analysis = {{"max_error_rate_increase", a.max_error_rate_increase},
                   {"max_p99_ratio", a.max_p99_ratio},
                   {"min_p99_increase", formatDuration(a.min_p99_increase)},
                   {"confidence", a.confidence},
                   {"max_error_rate", nullptr},
                   {"max_p99", nullptr}};
  if (a.max_error_rate) analysis["max_error_rate"] = *a.max_error_rate;
  if (a.max_p99) analysis["max_p99"] = formatDuration(*a.max_p99);
  json sticky = nullptr;
  if (canary.sticky_by != Canary::StickyBy::None) {
    sticky = {
        {canary.sticky_by == Canary::StickyBy::Header ? "header" : "cookie", canary.sticky_name}};
  }
  json webhooks = json::array();
  for (const Canary::Webhook& hook : canary.webhooks) {
    json on = json::array();
    if (hook.on_step) on.push_back("step");
    if (hook.on_promote) on.push_back("promote");
    webhooks.push_back({{"url", hook.url},
                        {"on", on},
                        {"timeout", formatDuration(hook.timeout)},
                        {"retries", hook.retries}});
  }
  json shadow = nullptr;
  if (const auto& s = canary.shadow) {
    shadow = {{"percent", s->percent},
              {"compare", s->compare},
              {"max_body_bytes", s->max_body_bytes},
              {"max_concurrent", s->max_concurrent},
              {"timeout", s->timeout ? json(formatDuration(*s->timeout)) : json(nullptr)}};
  }
  return {{"name", canary.name},
          {"route", canary.route},
          {"cluster", canary.cluster},
          {"baseline", canary.baseline},
          {"canary", canary.canary},
          {"steps", canary.steps},
          {"step_interval", formatDuration(canary.step_interval)},
          {"min_requests", canary.min_requests},
          {"sticky", sticky},
          {"analysis", analysis},
          {"deadline", canary.deadline ? json(formatDuration(*canary.deadline)) : json(nullptr)},
          {"on_deadline", canary.on_deadline == Canary::OnDeadline::Abort ? "abort" : "pause"},
          {"webhooks", webhooks},
          {"shadow", shadow},
          {"fleet", canary.fleet ? json(*canary.fleet) : json(nullptr)}};
}

}  // namespace

json toJson(const Config& config) {
  json listeners = json::array();
  for (const Listener& listener : config.listeners) listeners.push_back(listenerToJson(listener));
  json clusters = json::array();
  for (const Cluster& cluster : config.clusters) clusters.push_back(clusterToJson(cluster));
  json admin = {{"address", config.admin.address.text()}, {"probe_address", nullptr}};
  if (config.admin.probe_address) admin["probe_address"] = config.admin.probe_address->text();
  json out = {{"source_path", config.source_path},
              {"admin", admin},
              {"workers", config.workers},
              {"listeners", listeners},
              {"clusters", clusters},
              {"registry", registryToJson(config.registry)},
              {"lifecycle",
               {{"drain_delay", formatDuration(config.lifecycle.drain_delay)},
                {"drain_timeout", formatDuration(config.lifecycle.drain_timeout)}}}};
  if (config.service) out["service"] = serviceToJson(*config.service);
  if (config.config_source) {
    const ConfigSource& source = *config.config_source;
    out["config_source"] = {
        {source.store == ConfigSource::Store::Consul ? "consul" : "etcd", {{"key", source.key}}},
        {"cache", source.cache}};
  }
  json canaries = json::array();
  for (const Canary& canary : config.canaries) canaries.push_back(canaryToJson(canary));
  out["canaries"] = canaries;
  return out;
}

std::string_view lbPolicyName(LbPolicy policy) {
  switch (policy) {
    case LbPolicy::RoundRobin:
      return "round_robin";
    case LbPolicy::LeastRequest:
      return "least_request";
    case LbPolicy::LeastConnections:
      return "least_connections";
    case LbPolicy::PeakEwma:
      return "peak_ewma";
    case LbPolicy::Random:
      return "random";
    case LbPolicy::RingHash:
      return "ring_hash";
    case LbPolicy::Maglev:
      return "maglev";
  }
  return "round_robin";
}

json routeMatchToJson(const RouteMatch& match) {
  json out = json::object();
  switch (match.path_kind) {
    case RouteMatch::PathKind::Prefix:
      out["prefix"] = match.path;
      break;
    case RouteMatch::PathKind::Exact:
      out["path"] = match.path;
      break;
    case RouteMatch::PathKind::Regex:
      out["regex"] = match.path;
      break;
  }
  json headers = json::object();
  for (const HeaderMatch& header : match.headers) headers[header.name] = header.value;
  out["headers"] = headers;
  out["methods"] = match.methods;
  return out;
}

}  // namespace remora::config

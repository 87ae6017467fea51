// The /explain dry run: the data path's own reading and matching of a request on the snapshot,
// put into words.
#include "admin/explain.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/cluster_json.h"
#include "admin/explain_query.h"
#include "admin/match_explanation.h"
#include "config/dump.h"
#include "discovery/snapshot_builder.h"
#include "filters/router/request_hash.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/slow_start.h"
#include "proxy/request_decoration.h"

namespace remora::admin {

namespace {

using nlohmann::json;

constexpr char kPickNote[] =
    "pick: what a new balancer of the cluster's policy picks with nothing in flight; each "
    "worker's balancer has its own state (round-robin position, requests in flight), so a real "
    "request may go to another endpoint in rotation";

// The dry run's load: nothing in flight anywhere.
class NoLoad final : public EndpointLoad {
 public:
  uint32_t active(const ClusterInfo&, uint32_t) const override { return 0; }
};

// The request being explained, and what the answer shows beside the snapshot.
struct DryRun {
  const Snapshot& snapshot;
  const RequestHeaders& request;
  std::string client_address;  // "ip:port", as a downstream connection's peer
  const BalancerLoads* loads;
  int64_t now_us;
};

ExplainReply badRequest(const std::string& error, const Snapshot& snapshot) {
  json listeners = json::array();
  for (const auto& listener : snapshot.listeners) listeners.push_back(listener.config->name);
  return {400, {{"error", error}, {"listeners", std::move(listeners)}}};
}

std::string joined(const std::vector<Error>& errors) {
  std::string out;
  for (const Error& e : errors) out += (out.empty() ? "" : "; ") + e.text();
  return out;
}

json requestJson(const RequestHeaders& request) {
  json headers = json::array();
  for (const auto& field : request.headers) headers.push_back({field.name, field.value});
  return {{"method", request.method},
          {"authority", request.authority},
          {"path", request.path},
          {"headers", std::move(headers)}};
}

json routeJson(const CompiledRoute& route, size_t index) {
  json out = {{"index", index}};
  if (!route.config->name.empty()) out["name"] = route.config->name;
  return out;
}

// Why a subset has no endpoint to pick: the 503 the router would answer.
std::string noPickReason(const ClusterInfo& cluster, const SubsetInfo& subset, size_t candidates) {
  std::string where = "cluster '" + cluster.config->name + "'";
  if (!subset.label.empty()) where += " subset " + subset.label;
  if (candidates == 0) return "503: " + where + " has no endpoints";
  // Panic puts back what remora took out (checks, ejections), never what the registry did.
  return "503: no endpoint of " + where + " is in rotation, and panic does not apply (" +
         (cluster.config->panic_threshold == 0 ? std::string("panic_threshold is 0")
                                               : std::string("the registry has them all out")) +
         ")";
}

// One target of the action: its weights, its candidate endpoints (those the subset's selector
// takes, in rotation or not) and the endpoint a new balancer picks, -1 for none.
json targetJson(const DryRun& run, const config::Route& route, uint32_t configured_weight,
                const RouteTarget& target, uint64_t total_weight, int& picked) {
  const ClusterInfo& cluster = run.snapshot.clusters[target.cluster];
  const SubsetInfo& subset = cluster.subsets[target.subset];
  std::vector<bool> member(cluster.endpoints.size(), false);
  for (uint32_t m : subset.members) member[m] = true;
  const PolicyView view(cluster, subset, run.loads, run.now_us);
  json endpoints = json::array();
  for (size_t e = 0; e < cluster.endpoints.size(); ++e) {
    const EndpointInfo& endpoint = cluster.endpoints[e];
    if (discovery::metadataMatches(subset.selector, *endpoint.meta)) {
      json entry = endpointJson(endpoint, member[e], subset.panic);
      view.add(static_cast<uint32_t>(e), entry);
      endpoints.push_back(std::move(entry));
    }
  }
  const double share =
      total_weight == 0 ? 0.0 : 100.0 * target.weight / static_cast<double>(total_weight);
  json out = {{"cluster", cluster.config->name},
              {"subset", subset.selector},
              {"subset_label", subset.label},
              {"configured_weight", configured_weight},
              {"effective_weight", target.weight},
              {"share_percent", std::round(share * 100) / 100},
              {"lb", config::lbPolicyName(cluster.config->lb)},
              {"panic", subset.panic}};
  if (target.weight < configured_weight) {
    out["weight_note"] = "no endpoint of this subset is healthy: its weight goes to the others";
  }
  std::unique_ptr<LoadBalancer> balancer = makeLoadBalancer(cluster.config->lb);
  std::optional<uint64_t> hash;
  if (subset.hash_table != nullptr) {
    hash = router::hashRequest(route.hash, run.request, run.client_address).hash;
    if (hash) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(*hash));
      out["hash"] = {{"value", hex},
                     {"why",
                      "the route's hash: yields this key; every remora with these "
                      "endpoints sends it to the same endpoint"}};
    } else {
      out["hash"] = {{"value", nullptr},
                     {"why", "no entry of the route's hash: yields a key: a random endpoint"}};
    }
  }
  picked = hash ? balancer->pickHashed(cluster, subset, NoLoad(), *hash)
                : balancer->pick(cluster, subset, NoLoad());
  if (picked >= 0) {
    out["pick"] = cluster.endpoints[static_cast<size_t>(picked)].key;
  } else {
    out["pick"] = nullptr;
    out["no_pick"] = noPickReason(cluster, subset, endpoints.size());
  }
  out["endpoints"] = std::move(endpoints);
  return out;
}

// The chosen route's action and what would come of the request. `configured` is the route as
// the config compiled it (the weights as written); `chosen` is the snapshot's, as routed.
void explainAction(const DryRun& run, const CompiledRoute& configured, const CompiledRoute& chosen,
                   json& body, std::vector<std::string>& notes) {
  const Snapshot& snapshot = run.snapshot;
  const config::Route& route = *chosen.config;
  if (route.direct_response) {
    body["action"] = {{"type", "direct_response"},
                      {"status", route.direct_response->status},
                      {"body", route.direct_response->body}};
    body["outcome"] = {{"result", "direct_response"},
                       {"status", route.direct_response->status},
                       {"why", "the route answers by itself (direct_response)"}};
    return;
  }
  uint64_t total = 0;
  for (const auto& target : chosen.targets) total += target.weight;
  json targets = json::array();
  std::string proxied;
  for (size_t t = 0; t < chosen.targets.size(); ++t) {
    int picked = -1;
    json target =
        targetJson(run, route, configured.targets[t].weight, chosen.targets[t], total, picked);
    const double share = target["share_percent"].get<double>();
    // The snapshot leaves a target without endpoints a share only when no target has any, so
    // the request is either proxied, or answered 503 by whichever target it lands on.
    if (picked >= 0 && share > 0) {
      if (!proxied.empty()) proxied += "; ";
      proxied += target["pick"].get<std::string>() + " (" + target["cluster"].get<std::string>() +
                 ", " + std::to_string(static_cast<int>(std::lround(share))) + "%)";
    }
    targets.push_back(std::move(target));
  }
  body["action"] = {{"type", route.split.empty() ? "cluster" : "split"},
                    {"targets", std::move(targets)}};
  notes.push_back(kPickNote);
  if (route.mirror && chosen.mirror) {
    const SubsetInfo& subset =
        snapshot.clusters[chosen.mirror->target.cluster].subsets[chosen.mirror->target.subset];
    body["mirror"] = {{"cluster", route.mirror->cluster},
                      {"subset", route.mirror->subset},
                      {"percent", route.mirror->percent},
                      {"endpoints_in_rotation", subset.members.size()},
                      {"in_flight", chosen.mirror->in_flight->load(std::memory_order_relaxed)},
                      {"max_concurrent", route.mirror->max_concurrent}};
    notes.push_back(
        "mirror: this share of the route's requests is also copied, fire and forget, to the "
        "mirror cluster; the client's answer never waits for the copy");
  }
  if (proxied.empty()) {
    body["outcome"] = {{"result", "no_healthy_upstream"},
                       {"status", 503},
                       {"why", "no target has an endpoint in rotation"}};
    return;
  }
  body["outcome"] = {{"result", "proxied"}, {"why", "a pick now: " + proxied}};
}

// Every route of the selected host, matched or not and why.
json routesJson(const CompiledVirtualHost& host, const CompiledRoute* chosen,
                const RequestHeaders& request) {
  json routes = json::array();
  for (size_t i = 0; i < host.routes.size(); ++i) {
    const CompiledRoute& route = host.routes[i];
    json entry = routeJson(route, i);
    entry["match"] = config::routeMatchToJson(route.config->match);
    const bool matched = routeMatches(route, request);
    entry["matched"] = matched;
    entry["chosen"] = &route == chosen;
    if (!matched) {
      entry["why_not"] = routeMismatches(route, request);
    } else if (&route != chosen) {
      entry["note"] = "matches too, but an earlier route matched first";
    }
    routes.push_back(std::move(entry));
  }
  return routes;
}

}  // namespace

ExplainReply explain(const Snapshot& snapshot, std::string_view query_text,
                     const BalancerLoads* loads) {
  Result<ExplainQuery> query = parseExplainQuery(query_text);
  if (!query) return badRequest(joined(query.errors()), snapshot);
  if (query->listener.empty()) return badRequest("listener= is required", snapshot);
  const ListenerInfo* listener = snapshot.findListener(query->listener);
  if (listener == nullptr) {
    return badRequest("unknown listener '" + query->listener + "'", snapshot);
  }
  const config::Listener& listener_config = *listener->config;
  Result<CodecRequest> read = readAsCodec(*query, listener_config);
  if (!read) return badRequest(joined(read.errors()), snapshot);
  RequestHeaders& request = read->request;
  std::vector<std::string>& notes = read->notes;

  // What the stream does before matching (Stream::decorateRequest).
  if (!listener_config.trusted) {
    for (const auto& field : request.headers) {
      if (!field.name.starts_with("x-remora-")) continue;
      notes.push_back("x-remora-* fields removed: listener '" + listener_config.name +
                      "' does not trust its clients");
      break;
    }
  }
  request.scheme = listener->tls != nullptr ? "https" : "http";  // as the codecs set it
  decorateForRouting(request, listener_config.trusted, query->client);

  json body = {{"version", snapshot.version},
               {"listener", listener_config.name},
               {"request", requestJson(request)}};
  const RouteTable& table = *listener->routes;
  const HostSelection selection = explainHostSelection(table, request.authority);
  const CompiledVirtualHost* host = selection.host;
  body["virtual_host"] = {{"name", host != nullptr ? json(host->config->name) : json(nullptr)},
                          {"selected_by", selection.rule},
                          {"domain", selection.domain},
                          {"why", selection.why}};
  const CompiledRoute* chosen = table.match(request);
  body["routes"] = host != nullptr ? routesJson(*host, chosen, request) : json::array();
  body["route"] = nullptr;
  if (chosen == nullptr) {
    body["outcome"] = {{"result", "no_route"},
                       {"status", 404},
                       {"why", host == nullptr ? "no virtual host for this authority"
                                               : "no route of the virtual host matched"}};
  } else {
    // The same route as the config compiled it: at the same place in the listener's table.
    const size_t l = static_cast<size_t>(listener - snapshot.listeners.data());
    const size_t h = static_cast<size_t>(host - table.hosts().data());
    const size_t r = static_cast<size_t>(chosen - host->routes.data());
    const CompiledRoute& configured = snapshot.loaded->routes[l]->hosts()[h].routes[r];
    json route = routeJson(*chosen, r);
    route["virtual_host"] = host->config->name;
    body["route"] = std::move(route);
    const bool v6 = query->client.find(':') != std::string::npos;
    const DryRun run{snapshot, request, v6 ? "[" + query->client + "]:0" : query->client + ":0",
                     loads, steadyMicros()};
    explainAction(run, configured, *chosen, body, notes);
  }
  body["notes"] = std::move(notes);
  return {200, std::move(body)};
}

}  // namespace remora::admin

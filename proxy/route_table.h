// Compiled routes of one listener: virtual host selection by Host, then the first matching route.
#pragma once

#include <re2/re2.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "filters/filter.h"
#include "proxy/message.h"
#include "proxy/route_index.h"

namespace remora {

// Where a route sends traffic: a cluster of the snapshot and one of its subsets.
struct RouteTarget {
  uint32_t cluster = 0;  // index into Snapshot::clusters
  uint32_t subset = 0;   // index into ClusterInfo::subsets
  uint32_t weight = 1;
};

// Where a route's shadow copies go, and how many are in flight for it on every worker together.
// The count is made once per config and shared by each snapshot's copy of the route (a relaxed
// atomic: no lock on the request path); a copy in flight pins its snapshot, and so the count.
struct MirrorTarget {
  RouteTarget target;
  std::shared_ptr<std::atomic<uint32_t>> in_flight;
};

using FilterFactories = std::vector<std::shared_ptr<const filters::FilterFactory>>;

struct CompiledRoute {
  const config::Route* config = nullptr;
  std::shared_ptr<const re2::RE2> regex;  // with PathKind::Regex; compiled once per config
  std::vector<RouteTarget> targets;       // empty for direct_response
  // The index of the canary (Config::canaries) that splits this route, or -1. Its targets are
  // then the canary arm first and the baseline second: a request whose stickiness key hashes
  // below the canary's weight goes to the canary, so raising the weight only moves users one way.
  int32_t canary = -1;
  // The cluster and subset of the route's `mirror:`; unset without one.
  std::optional<MirrorTarget> mirror;
  // The mirror is the canary's shadow (its canary subset, its `shadow:` settings): set in a
  // snapshot only while the canary's run is at its shadow step.
  bool canary_shadow = false;
  // The route's own `filters:`, run after the listener's; built once per config.
  std::shared_ptr<const FilterFactories> filters;
};

struct CompiledVirtualHost {
  const config::VirtualHost* config = nullptr;
  std::vector<CompiledRoute> routes;
};

// How RouteTable chose a virtual host for an authority: by which kind of domain, and which.
struct HostChoice {
  enum class Rule { Exact, Suffix, Prefix, Any, None };
  const CompiledVirtualHost* host = nullptr;
  Rule rule = Rule::None;
  // The deciding domain, lowercased ("api.example.com", "*.example.com", "users.*", "*"); empty
  // with Rule::None. Valid as long as the table.
  std::string_view domain;
};

class RouteTable {
 public:
  // Takes the compiled hosts; domains are indexed for lookup (exact, *.suffix, prefix.*, *), and
  // each host's routes by path (RouteIndex).
  explicit RouteTable(std::vector<CompiledVirtualHost> hosts);
  // The same virtual hosts as `prototype` with `hosts` in place of its routes (the same ones with
  // other target weights): the domain and route indexes are shared, not built again. What each
  // snapshot does with the table compiled once per config.
  RouteTable(const RouteTable& prototype, std::vector<CompiledVirtualHost> hosts);

  const std::vector<CompiledVirtualHost>& hosts() const { return hosts_; }

  // The virtual host for `authority` (port ignored, case-insensitive), or nullptr.
  const CompiledVirtualHost* selectHost(std::string_view authority) const;
  // selectHost's choice with the rule and domain that made it (for /explain).
  HostChoice chooseHost(std::string_view authority) const;
  // The first route of the selected host that matches, or nullptr.
  const CompiledRoute* match(const RequestHeaders& request) const;

 private:
  // Virtual host indices by domain, lowercased; wildcards whole ("*.example.com", "example.*")
  // so that chooseHost can name them.
  struct DomainIndex {
    std::unordered_map<std::string, uint32_t> exact;
    std::vector<std::pair<std::string, uint32_t>> suffixes;
    std::vector<std::pair<std::string, uint32_t>> prefixes;
    int64_t any = -1;
  };

  std::vector<CompiledVirtualHost> hosts_;
  std::shared_ptr<const DomainIndex> domains_;
  std::shared_ptr<const std::vector<RouteIndex>> route_indexes_;  // one per host, same order
};

bool routeMatches(const CompiledRoute& route, const RequestHeaders& request);

// What selectHost and routeMatches are made of (routeMatches checks path, method, headers in
// that order), each on its own so that /explain says which failed with the code that decides.
std::string_view pathWithoutQuery(std::string_view path);
std::string_view hostWithoutPort(std::string_view authority);
bool pathMatches(const CompiledRoute& route, std::string_view path_without_query);
bool methodMatches(const config::RouteMatch& match, std::string_view method);
bool headerMatches(const config::HeaderMatch& header, const HeaderMap& headers);

}  // namespace remora

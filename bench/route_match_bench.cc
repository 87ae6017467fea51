// Micro benchmarks of route matching: one RouteTable::match over 1 or 2,000 routes (prefix,
// exact, regex or all three in turn), for the first route, the last and a path that falls through.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/route_table.h"

namespace remora {
namespace {

using PathKind = config::RouteMatch::PathKind;

enum class Kind { Regex, Prefix, Exact, Mixed };

// Route i matches /service<i>/v<digits>/items/<digits> (regex), /service<i>/... (prefix) or
// /service<i>/health (exact), as bench/compare --remora-b-routes writes them; a catch-all last.
class ManyRoutes {
 public:
  ManyRoutes(int count, Kind kind) {
    host_.domains = {"*"};
    for (int i = 0; i < count; ++i) {
      const std::string service = "/service" + std::to_string(i);
      config::Route route;
      Kind k = kind == Kind::Mixed ? static_cast<Kind>(i % 3) : kind;
      switch (k) {
        case Kind::Regex:
          route.match.path_kind = PathKind::Regex;
          route.match.path = service + "/v[0-9]+/items/[0-9]+";
          break;
        case Kind::Prefix:
          route.match.path = service + "/";
          break;
        default:
          route.match.path_kind = PathKind::Exact;
          route.match.path = service + "/health";
          break;
      }
      host_.routes.push_back(route);
    }
    host_.routes.emplace_back();  // prefix "/"
    CompiledVirtualHost compiled{&host_, {}};
    for (const auto& route : host_.routes) {
      CompiledRoute r;
      r.config = &route;
      if (route.match.path_kind == PathKind::Regex) {
        r.regex = std::make_shared<const re2::RE2>(route.match.path);
      }
      compiled.routes.push_back(std::move(r));
    }
    std::vector<CompiledVirtualHost> hosts;
    hosts.push_back(std::move(compiled));
    table_ = std::make_unique<RouteTable>(std::move(hosts));
  }
  const RouteTable& table() const { return *table_; }

 private:
  config::VirtualHost host_;
  std::unique_ptr<RouteTable> table_;
};

std::string pathOf(int route, Kind kind) {
  const std::string service = "/service" + std::to_string(route);
  switch (kind == Kind::Mixed ? static_cast<Kind>(route % 3) : kind) {
    case Kind::Regex:
      return service + "/v2/items/42";
    case Kind::Prefix:
      return service + "/users/7";
    default:
      return service + "/health";
  }
}

void match(benchmark::State& state, int count, Kind kind, const std::string& path, int expected) {
  const ManyRoutes routes(count, kind);
  RequestHeaders request;
  request.method = "GET";
  request.authority = "example.com";
  request.path = path + "?q=1";
  const CompiledRoute* want = &routes.table().hosts()[0].routes[static_cast<size_t>(expected)];
  if (routes.table().match(request) != want) {
    state.SkipWithError("matched the wrong route");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(routes.table().match(request));
}

void registerAll() {
  const struct {
    const char* name;
    Kind kind;
  } kinds[] = {{"regex", Kind::Regex},
               {"prefix", Kind::Prefix},
               {"exact", Kind::Exact},
               {"mixed", Kind::Mixed}};
  for (const auto& k : kinds) {
    for (int count : {1, 2000}) {
      const std::string base = std::string(k.name) + "/" + std::to_string(count) + "/";
      benchmark::RegisterBenchmark((base + "first").c_str(), match, count, k.kind,
                                   pathOf(0, k.kind), 0);
      benchmark::RegisterBenchmark((base + "last").c_str(), match, count, k.kind,
                                   pathOf(count - 1, k.kind), count - 1);
      benchmark::RegisterBenchmark((base + "fall-through").c_str(), match, count, k.kind,
                                   std::string("/elsewhere/x"), count);
    }
  }
}

const int kRegistered = (registerAll(), 0);

}  // namespace
}  // namespace remora

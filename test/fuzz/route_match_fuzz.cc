// libFuzzer target for route matching: the path index (a trie of prefixes and exact paths, a
// regex set) must choose the same route as trying each route in turn, for any table and request.
// Input: one route per line ("P prefix", "E exact path", "R regex", a trailing " POST" for a
// method condition), then the request's method and path on the last line ("GET /a/b?q").
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/route_index.h"
#include "proxy/route_table.h"

namespace {

using remora::config::RouteMatch;

// The routes of `lines` (all but the last); a regex RE2 refuses is left out, as the loader
// refuses it.
std::deque<remora::config::Route> parseRoutes(const std::vector<std::string_view>& lines) {
  std::deque<remora::config::Route> routes;
  for (size_t i = 0; i + 1 < lines.size() && routes.size() < 64; ++i) {
    std::string_view line = lines[i];
    if (line.size() < 2 || line[1] != ' ') continue;
    remora::config::Route route;
    std::string_view path = line.substr(2);
    if (path.ends_with(" POST")) {
      route.match.methods = {"POST"};
      path.remove_suffix(5);
    }
    route.match.path = std::string(path);
    switch (line[0]) {
      case 'P':
        break;
      case 'E':
        route.match.path_kind = RouteMatch::PathKind::Exact;
        break;
      case 'R':
        route.match.path_kind = RouteMatch::PathKind::Regex;
        break;
      default:
        continue;
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  const std::deque<remora::config::Route> configs = parseRoutes(lines);
  std::vector<remora::CompiledRoute> routes;
  for (const auto& config : configs) {
    remora::CompiledRoute route;
    route.config = &config;
    if (config.match.path_kind == RouteMatch::PathKind::Regex) {
      re2::RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const re2::RE2>(config.match.path, options);
      if (!regex->ok()) continue;
      route.regex = std::move(regex);
    }
    routes.push_back(std::move(route));
  }
  remora::RequestHeaders request;
  const std::string_view last = lines.back();
  const size_t space = last.find(' ');
  request.method = std::string(last.substr(0, space == std::string_view::npos ? 0 : space));
  request.path = std::string(space == std::string_view::npos ? last : last.substr(space + 1));
  const std::string_view path = remora::pathWithoutQuery(request.path);

  int64_t linear = -1;
  for (size_t i = 0; i < routes.size() && linear < 0; ++i) {
    if (remora::routeMatches(routes[i], request)) linear = static_cast<int64_t>(i);
  }
  // The default budget, and one so small that the set gives up and each regex is tried alone.
  for (int64_t memory : {int64_t{0}, int64_t{16} << 10}) {
    const remora::RouteIndex index(routes, memory);
    if (index.firstMatch(routes, path, request) != linear) std::abort();
  }
  return 0;
}

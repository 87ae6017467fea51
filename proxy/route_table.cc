// Virtual host selection and route matching.
#include "proxy/route_table.h"

#include <algorithm>

namespace remora {

namespace {

std::string_view hostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

std::string_view pathWithoutQuery(std::string_view path) {
  size_t q = path.find('?');
  return q == std::string_view::npos ? path : path.substr(0, q);
}

}  // namespace

RouteTable::RouteTable(std::vector<CompiledVirtualHost> hosts) : hosts_(std::move(hosts)) {
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    for (const std::string& domain : hosts_[i].config->domains) {
      std::string d = toLower(domain);
      if (d == "*") {
        if (any_ < 0) any_ = i;
      } else if (d.size() > 1 && d[0] == '*') {
        suffixes_.emplace_back(d.substr(1), i);
      } else if (d.size() > 1 && d.back() == '*') {
        prefixes_.emplace_back(d.substr(0, d.size() - 1), i);
      } else {
        exact_.emplace(d, i);
      }
    }
  }
  // The longest wildcard wins, as users of other proxies expect.
  auto longestFirst = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(suffixes_.begin(), suffixes_.end(), longestFirst);
  std::stable_sort(prefixes_.begin(), prefixes_.end(), longestFirst);
}

const CompiledVirtualHost* RouteTable::selectHost(std::string_view authority) const {
  if (exact_.empty() && suffixes_.empty() && prefixes_.empty()) {
    return any_ >= 0 ? &hosts_[any_] : nullptr;
  }
  std::string host = toLower(hostWithoutPort(authority));
  if (auto it = exact_.find(host); it != exact_.end()) return &hosts_[it->second];
  for (const auto& [suffix, index] : suffixes_) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) return &hosts_[index];
  }
  for (const auto& [prefix, index] : prefixes_) {
    if (host.size() > prefix.size() && host.starts_with(prefix)) return &hosts_[index];
  }
  return any_ >= 0 ? &hosts_[any_] : nullptr;
}

bool routeMatches(const CompiledRoute& route, const RequestHeaders& request) {
  const config::RouteMatch& match = route.config->match;
  std::string_view path = pathWithoutQuery(request.path);
  switch (match.path_kind) {
    case config::RouteMatch::PathKind::Prefix:
      if (!path.starts_with(match.path)) return false;
      break;
    case config::RouteMatch::PathKind::Exact:
      if (path != match.path) return false;
      break;
    case config::RouteMatch::PathKind::Regex:
      if (!re2::RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *route.regex)) {
        return false;
      }
      break;
  }
  if (!match.methods.empty() && std::find(match.methods.begin(), match.methods.end(),
                                          request.method) == match.methods.end()) {
    return false;
  }
  for (const auto& header : match.headers) {
    bool found = false;
    for (const auto& field : request.headers) {
      if (field.name == header.name && field.value == header.value) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

const CompiledRoute* RouteTable::match(const RequestHeaders& request) const {
  const CompiledVirtualHost* host = selectHost(request.authority);
  if (host == nullptr) return nullptr;
  for (const auto& route : host->routes) {
    if (routeMatches(route, request)) return &route;
  }
  return nullptr;
}

}  // namespace remora

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
  auto index = std::make_shared<DomainIndex>();
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    for (const std::string& domain : hosts_[i].config->domains) {
      std::string d = toLower(domain);
      if (d == "*") {
        if (index->any < 0) index->any = i;
      } else if (d.size() > 1 && d[0] == '*') {
        index->suffixes.emplace_back(d.substr(1), i);
      } else if (d.size() > 1 && d.back() == '*') {
        index->prefixes.emplace_back(d.substr(0, d.size() - 1), i);
      } else {
        index->exact.emplace(d, i);
      }
    }
  }
  // The longest wildcard wins, as users of other proxies expect.
  auto longestFirst = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(index->suffixes.begin(), index->suffixes.end(), longestFirst);
  std::stable_sort(index->prefixes.begin(), index->prefixes.end(), longestFirst);
  domains_ = std::move(index);
}

RouteTable::RouteTable(const RouteTable& prototype, std::vector<CompiledVirtualHost> hosts)
    : hosts_(std::move(hosts)), domains_(prototype.domains_) {}

const CompiledVirtualHost* RouteTable::selectHost(std::string_view authority) const {
  const DomainIndex& index = *domains_;
  const CompiledVirtualHost* any = index.any >= 0 ? &hosts_[index.any] : nullptr;
  if (index.exact.empty() && index.suffixes.empty() && index.prefixes.empty()) return any;
  std::string host = toLower(hostWithoutPort(authority));
  if (auto it = index.exact.find(host); it != index.exact.end()) return &hosts_[it->second];
  for (const auto& [suffix, i] : index.suffixes) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) return &hosts_[i];
  }
  for (const auto& [prefix, i] : index.prefixes) {
    if (host.size() > prefix.size() && host.starts_with(prefix)) return &hosts_[i];
  }
  return any;
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

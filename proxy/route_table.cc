// Virtual host selection and route matching.
#include "proxy/route_table.h"

#include <algorithm>
#include <cassert>

namespace remora {

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

RouteTable::RouteTable(std::vector<CompiledVirtualHost> hosts) : hosts_(std::move(hosts)) {
  auto index = std::make_shared<DomainIndex>();
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    for (const std::string& domain : hosts_[i].config->domains) {
      std::string d = toLower(domain);
      if (d == "*") {
        if (index->any < 0) index->any = i;
      } else if (d.size() > 1 && d[0] == '*') {
        index->suffixes.emplace_back(std::move(d), i);
      } else if (d.size() > 1 && d.back() == '*') {
        index->prefixes.emplace_back(std::move(d), i);
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
  auto route_indexes = std::make_shared<std::vector<RouteIndex>>();
  route_indexes->reserve(hosts_.size());
  for (const auto& host : hosts_) route_indexes->emplace_back(host.routes);
  route_indexes_ = std::move(route_indexes);
}

RouteTable::RouteTable(const RouteTable& prototype, std::vector<CompiledVirtualHost> hosts)
    : hosts_(std::move(hosts)),
      domains_(prototype.domains_),
      route_indexes_(prototype.route_indexes_) {
  // The shared indexes are of the prototype's routes: these must be the same, in that order.
  assert(hosts_.size() == prototype.hosts_.size());
  for (size_t i = 0; i < hosts_.size(); ++i) {
    assert(hosts_[i].routes.size() == prototype.hosts_[i].routes.size());
  }
}

const CompiledVirtualHost* RouteTable::selectHost(std::string_view authority) const {
  return chooseHost(authority).host;
}

HostChoice RouteTable::chooseHost(std::string_view authority) const {
  using Rule = HostChoice::Rule;
  const DomainIndex& index = *domains_;
  const HostChoice any = index.any >= 0 ? HostChoice{&hosts_[index.any], Rule::Any, "*"}
                                        : HostChoice{nullptr, Rule::None, {}};
  if (index.exact.empty() && index.suffixes.empty() && index.prefixes.empty()) return any;
  std::string host = toLower(hostWithoutPort(authority));
  if (auto it = index.exact.find(host); it != index.exact.end()) {
    return {&hosts_[it->second], Rule::Exact, it->first};
  }
  for (const auto& [domain, i] : index.suffixes) {
    const std::string_view suffix = std::string_view(domain).substr(1);  // ".example.com"
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      return {&hosts_[i], Rule::Suffix, domain};
    }
  }
  for (const auto& [domain, i] : index.prefixes) {
    const std::string_view prefix = std::string_view(domain).substr(0, domain.size() - 1);
    if (host.size() > prefix.size() && host.starts_with(prefix)) {
      return {&hosts_[i], Rule::Prefix, domain};
    }
  }
  return any;
}

bool pathMatches(const CompiledRoute& route, std::string_view path) {
  const config::RouteMatch& match = route.config->match;
  switch (match.path_kind) {
    case config::RouteMatch::PathKind::Prefix:
      return path.starts_with(match.path);
    case config::RouteMatch::PathKind::Exact:
      return path == match.path;
    case config::RouteMatch::PathKind::Regex:
      return re2::RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *route.regex);
  }
  return false;
}

bool methodMatches(const config::RouteMatch& match, std::string_view method) {
  return match.methods.empty() ||
         std::find(match.methods.begin(), match.methods.end(), method) != match.methods.end();
}

bool headerMatches(const config::HeaderMatch& header, const HeaderMap& headers) {
  for (const auto& field : headers) {
    if (field.name == header.name && field.value == header.value) return true;
  }
  return false;
}

bool routeMatches(const CompiledRoute& route, const RequestHeaders& request) {
  if (!pathMatches(route, pathWithoutQuery(request.path))) return false;
  const config::RouteMatch& match = route.config->match;
  if (!methodMatches(match, request.method)) return false;
  for (const auto& header : match.headers) {
    if (!headerMatches(header, request.headers)) return false;
  }
  return true;
}

const CompiledRoute* RouteTable::match(const RequestHeaders& request) const {
  const CompiledVirtualHost* host = selectHost(request.authority);
  if (host == nullptr) return nullptr;
  const RouteIndex& index = (*route_indexes_)[static_cast<size_t>(host - hosts_.data())];
  const int64_t route = index.firstMatch(host->routes, pathWithoutQuery(request.path), request);
  return route < 0 ? nullptr : &host->routes[static_cast<size_t>(route)];
}

}  // namespace remora

// Route reading: virtual hosts and their domains, matches, actions, and the route's options.
#include "config/route_reader.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "config/filter_list_reader.h"
#include "config/hash_policy_reader.h"
#include "config/header_mutations_reader.h"
#include "config/http_syntax.h"
#include "config/mirror_reader.h"
#include "config/retry_reader.h"

namespace remora::config {
namespace {

constexpr uint32_t kMaxSplitWeight = 1'000'000;

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

// "*", "*.suffix", "prefix.*" or a plain name; a '*' anywhere else would never match.
bool isValidDomain(std::string_view domain) {
  if (domain == "*") return true;
  std::string_view rest = domain;
  if (rest.starts_with("*.")) {
    rest.remove_prefix(2);
  } else if (rest.ends_with(".*")) {
    rest.remove_suffix(2);
  }
  return !rest.empty() && rest.find('*') == std::string_view::npos;
}

}  // namespace

void RouteReader::readVirtualHosts(const Located& at, std::vector<VirtualHost>& out) {
  std::optional<std::vector<Located>> items = reader_.sequence(at, "virtual_hosts");
  if (!items) return;
  UniqueNames names("virtual host name");
  // Domain -> the virtual host that claimed it first, across the whole listener.
  std::map<std::string, std::pair<std::string, SourceLocation>> domains;
  for (const Located& item : *items) {
    std::optional<Fields> fields =
        reader_.mapping(item, "virtual host", {"name", "domains", "routes"});
    if (!fields) continue;
    VirtualHost host;
    reader_.require(*fields, "virtual host", "name");
    reader_.require(*fields, "virtual host", "domains");
    reader_.require(*fields, "virtual host", "routes");
    if (const Field* f = fields->find("name")) {
      if (auto name = reader_.nonEmptyString(f->value, "name")) {
        host.name = *name;
        names.add(reader_, *name, f->value.where);
      }
    }
    if (const Field* f = fields->find("domains")) {
      if (auto list = reader_.sequence(f->value, "domains")) {
        if (list->empty()) reader_.error(f->value.where, "domains must not be empty");
        for (const Located& entry : *list) {
          auto domain = reader_.nonEmptyString(entry, "domain");
          if (!domain) continue;
          std::string name = toLower(*domain);
          if (!isValidDomain(name)) {
            reader_.error(entry.where, "domain '" + name +
                                           "': '*' may only be the whole domain, a leading "
                                           "'*.' or a trailing '.*'");
            continue;
          }
          auto [it, inserted] = domains.emplace(name, std::pair{host.name, entry.where});
          if (!inserted) {
            reader_.error(entry.where, "domain '" + name + "' already belongs to virtual host '" +
                                           it->second.first + "' (at " +
                                           lineCol(it->second.second) + ")");
            continue;
          }
          host.domains.push_back(name);
        }
      }
    }
    if (const Field* f = fields->find("routes")) readRoutes(f->value, host.routes);
    out.push_back(std::move(host));
  }
}

void RouteReader::readRoutes(const Located& at, std::vector<Route>& out) {
  std::optional<std::vector<Located>> items = reader_.sequence(at, "routes");
  if (!items) return;
  if (items->empty()) reader_.error(at.where, "routes must not be empty");
  for (const Located& item : *items) {
    if (std::optional<Route> route = readRoute(item)) out.push_back(std::move(*route));
  }
}

std::optional<Route> RouteReader::readRoute(const Located& at) {
  std::optional<Fields> fields = reader_.mapping(
      at, "route",
      {"name", "match", "cluster", "subset", "split", "direct_response", "timeout", "retry",
       "mirror", "request_headers", "response_headers", "filters", "stream_idle_timeout", "hash"});
  if (!fields) return std::nullopt;
  Route route;
  route.location = at.where;
  if (const Field* f = fields->find("name")) readName(f->value, route.name);
  if (const Field* f = fields->find("match")) readMatch(f->value, route.match);
  std::vector<std::string> actions;
  if (const Field* f = fields->find("cluster")) {
    actions.push_back("cluster");
    if (auto name = reader_.nonEmptyString(f->value, "cluster")) {
      route.cluster = *name;
      cluster_refs_.push_back({*name, f->value.where});
    }
  }
  if (const Field* f = fields->find("subset")) {
    if (!fields->has("cluster")) {
      reader_.error(f->key_where, "subset needs cluster (a split entry takes its own subset)");
    } else if (auto subset = reader_.stringMap(f->value, "subset")) {
      route.subset = std::move(*subset);
    }
  }
  if (const Field* f = fields->find("split")) {
    actions.push_back("split");
    readSplit(f->value, route.split);
  }
  if (const Field* f = fields->find("direct_response")) {
    actions.push_back("direct_response");
    route.direct_response = readDirectResponse(f->value);
  }
  if (actions.empty()) {
    reader_.error(at.where, "route needs an action: cluster, split or direct_response");
  } else if (actions.size() > 1) {
    std::string names;
    for (const std::string& action : actions) names += (names.empty() ? "" : ", ") + action;
    reader_.error(at.where, "route has more than one action (" + names +
                                "); give exactly one of cluster, split or direct_response");
  }
  readDuration(reader_, *fields, "timeout", route.timeout);
  if (const Field* f = fields->find("retry")) {
    if (route.direct_response) {
      reader_.error(f->key_where, "retry needs an upstream: a direct_response is never retried");
    }
    route.retry = readRetryPolicy(reader_, f->value);
  }
  if (const Field* f = fields->find("mirror")) {
    if (route.direct_response) {
      reader_.error(f->key_where,
                    "mirror needs an upstream: a direct_response has no request "
                    "to copy");
    }
    route.mirror = readMirror(reader_, f->value, cluster_refs_);
  }
  if (const Field* f = fields->find("hash")) {
    if (route.direct_response) {
      reader_.error(f->key_where, "hash needs an upstream: a direct_response picks no endpoint");
    }
    readHashPolicies(reader_, f->value, route.hash);
  }
  if (const Field* f = fields->find("request_headers")) {
    readHeaderMutations(reader_, f->value, "request_headers", route.request_headers);
  }
  if (const Field* f = fields->find("response_headers")) {
    readHeaderMutations(reader_, f->value, "response_headers", route.response_headers);
  }
  if (const Field* f = fields->find("filters")) readFilterList(reader_, f->value, route.filters);
  if (const Field* f = fields->find("stream_idle_timeout")) {
    route.stream_idle_timeout = reader_.duration(f->value, "stream_idle_timeout");
  }
  return route;
}

// Canaries name a route `listener/virtual_host/index` or by its name alone, so a name with a '/'
// could read as the other form.
void RouteReader::readName(const Located& at, std::string& out) {
  std::optional<std::string> name = reader_.nonEmptyString(at, "route name");
  if (!name) return;
  if (name->find('/') != std::string::npos) {
    reader_.error(at.where, "route name must not contain '/'");
    return;
  }
  route_names_.add(reader_, *name, at.where);
  out = *name;
}

void RouteReader::readMatch(const Located& at, RouteMatch& match) {
  std::optional<Fields> fields =
      reader_.mapping(at, "match", {"prefix", "path", "regex", "headers", "method", "methods"});
  if (!fields) return;
  int path_rules = 0;
  for (auto [key, kind] : {std::pair{"prefix", RouteMatch::PathKind::Prefix},
                           std::pair{"path", RouteMatch::PathKind::Exact},
                           std::pair{"regex", RouteMatch::PathKind::Regex}}) {
    const Field* f = fields->find(key);
    if (f == nullptr) continue;
    if (++path_rules == 2) {
      reader_.error(at.where, "match takes only one of prefix, path or regex");
    }
    std::optional<std::string> text = reader_.nonEmptyString(f->value, key);
    if (!text) continue;
    if (kind == RouteMatch::PathKind::Regex) {
      RE2::Options options;
      options.set_log_errors(false);
      RE2 regex(*text, options);
      if (!regex.ok()) {
        reader_.error(f->value.where, "invalid regex '" + *text + "': " + regex.error());
        continue;
      }
    } else if (text->front() != '/') {
      reader_.error(f->value.where, std::string(key) + " must start with '/'");
      continue;
    }
    match.path_kind = kind;
    match.path = *text;
  }
  if (const Field* f = fields->find("headers")) {
    if (auto headers = reader_.freeMapping(f->value, "headers")) {
      for (const Field& header : headers->all()) {
        std::optional<std::string> value = reader_.string(header.value, header.key);
        std::optional<std::string> name = readHeaderName(reader_, header.key, header.key_where);
        if (name && value) match.headers.push_back({*name, *value});
      }
    }
  }
  const Field* method = fields->find("method");
  const Field* methods = fields->find("methods");
  if (method != nullptr && methods != nullptr) {
    reader_.error(fields->where(), "match takes method or methods, not both");
  }
  if (method != nullptr) {
    if (auto name = methodName(method->value)) match.methods.push_back(*name);
  }
  if (methods != nullptr) {
    if (auto list = reader_.sequence(methods->value, "methods")) {
      if (list->empty()) reader_.error(methods->value.where, "methods must not be empty");
      for (const Located& entry : *list) {
        if (auto name = methodName(entry)) match.methods.push_back(*name);
      }
    }
  }
}

std::optional<std::string> RouteReader::methodName(const Located& at) {
  std::optional<std::string> name = reader_.string(at, "method");
  if (!name) return std::nullopt;
  if (!isToken(*name)) {
    reader_.error(at.where, "'" + *name + "' is not a valid method");
    return std::nullopt;
  }
  return upper(*name);
}

void RouteReader::readSplit(const Located& at, std::vector<WeightedCluster>& out) {
  std::optional<std::vector<Located>> items = reader_.sequence(at, "split");
  if (!items) return;
  if (items->empty()) {
    reader_.error(at.where, "split must not be empty");
    return;
  }
  uint64_t total = 0;
  bool all_weights = true;
  for (const Located& item : *items) {
    std::optional<Fields> fields =
        reader_.mapping(item, "split entry", {"cluster", "subset", "weight"});
    if (!fields) {
      all_weights = false;
      continue;
    }
    WeightedCluster entry;
    reader_.require(*fields, "split entry", "cluster");
    all_weights = reader_.require(*fields, "split entry", "weight") && all_weights;
    if (const Field* f = fields->find("cluster")) {
      if (auto name = reader_.nonEmptyString(f->value, "cluster")) {
        entry.cluster = *name;
        cluster_refs_.push_back({*name, f->value.where});
      }
    }
    if (const Field* f = fields->find("subset")) {
      if (auto subset = reader_.stringMap(f->value, "subset")) entry.subset = std::move(*subset);
    }
    if (const Field* f = fields->find("weight")) {
      auto weight = reader_.integer(f->value, "weight", 0, kMaxSplitWeight);
      all_weights = all_weights && weight;
      if (weight) entry.weight = static_cast<uint32_t>(*weight);
    }
    total += entry.weight;
    out.push_back(std::move(entry));
  }
  // Only a sum of weights that all parsed says something; bad ones were reported already.
  if (all_weights && total == 0) {
    reader_.error(at.where, "split weights sum to 0; at least one must be positive");
  }
}

std::optional<DirectResponse> RouteReader::readDirectResponse(const Located& at) {
  std::optional<Fields> fields = reader_.mapping(at, "direct_response", {"status", "body"});
  if (!fields) return std::nullopt;
  DirectResponse response;
  if (!reader_.require(*fields, "direct_response", "status")) return std::nullopt;
  auto status = reader_.integer(fields->find("status")->value, "status", 200, 599);
  if (status) response.status = static_cast<int>(*status);
  if (const Field* f = fields->find("body")) {
    if (auto body = reader_.string(f->value, "body")) response.body = *body;
  }
  return response;
}

}  // namespace remora::config

// Loading a remora YAML config into a typed, validated Config.
#include "config/loader.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "config/endpoint_reader.h"
#include "config/header_mutations_reader.h"
#include "config/registry_reader.h"
#include "config/retry_reader.h"
#include "config/service_reader.h"
#include "config/tls_reader.h"
#include "config/yaml_reader.h"
#include "config/yaml_source.h"
#include "proxy/header_map.h"
#include "proxy/http1_parser.h"

namespace remora::config {
namespace {

constexpr uint32_t kMaxWorkers = 1024;
constexpr uint32_t kMaxSplitWeight = 1'000'000;
constexpr uint64_t kMaxHeadersBytes = uint64_t{1} << 30;
constexpr uint64_t kMaxUint32 = std::numeric_limits<uint32_t>::max();

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

// Remembers the names of one kind of thing and reports any second use.
class UniqueNames {
 public:
  explicit UniqueNames(std::string kind) : kind_(std::move(kind)) {}

  void add(YamlReader& reader, const std::string& name, const SourceLocation& where) {
    auto [it, inserted] = seen_.emplace(name, where);
    if (!inserted) {
      reader.error(where,
                   "duplicate " + kind_ + " '" + name + "' (first at " + lineCol(it->second) + ")");
    }
  }

 private:
  std::string kind_;
  std::map<std::string, SourceLocation> seen_;
};

class ConfigReader {
 public:
  ConfigReader(std::string source, std::string source_path,
               std::set<std::pair<int, int>> unexpanded)
      : reader_(std::move(source), std::move(unexpanded)) {
    config_.source_path = std::move(source_path);
  }

  // `earlier_errors` (from ${VAR} expansion) are merged in.
  Result<std::shared_ptr<const Config>> read(const YAML::Node& document,
                                             std::vector<Error> earlier_errors) {
    if (std::optional<Located> root = reader_.root(document)) readTop(*root);
    checkReferences();
    std::vector<Error> errors = std::move(earlier_errors);
    for (Error& error : reader_.takeErrors()) errors.push_back(std::move(error));
    if (!errors.empty()) {
      sortByPlace(errors);
      return errors;
    }
    return std::shared_ptr<const Config>(std::make_shared<Config>(std::move(config_)));
  }

 private:
  struct Reference {
    std::string name;
    SourceLocation where;
  };

  void readTop(const Located& root) {
    std::optional<Fields> fields = reader_.mapping(
        root, "config",
        {"admin", "workers", "service", "registry", "lifecycle", "listeners", "clusters"});
    if (!fields) return;
    if (const Field* f = fields->find("admin")) readAdmin(f->value);
    readInteger(*fields, "workers", 0, kMaxWorkers, config_.workers);
    if (const Field* f = fields->find("service")) config_.service = readService(reader_, f->value);
    if (const Field* f = fields->find("registry")) {
      config::readRegistry(reader_, f->value, config_.registry);
    }
    if (const Field* f = fields->find("lifecycle")) readLifecycle(f->value);
    if (const Field* f = fields->find("listeners")) readListeners(f->value);
    if (const Field* f = fields->find("clusters")) readClusters(f->value);
  }

  void readAdmin(const Located& at) {
    std::optional<Fields> fields = reader_.mapping(at, "admin", {"address"});
    if (!fields) return;
    if (const Field* f = fields->find("address")) {
      if (auto address = reader_.address(f->value, "address")) config_.admin.address = *address;
    }
  }

  void readLifecycle(const Located& at) {
    std::optional<Fields> fields =
        reader_.mapping(at, "lifecycle", {"drain_delay", "drain_timeout"});
    if (!fields) return;
    readDuration(*fields, "drain_delay", config_.lifecycle.drain_delay);
    readDuration(*fields, "drain_timeout", config_.lifecycle.drain_timeout);
  }

  void readDuration(const Fields& fields, std::string_view key, Duration& out) {
    if (const Field* f = fields.find(key)) {
      if (auto value = reader_.duration(f->value, key)) out = *value;
    }
  }

  template <class T>
  void readInteger(const Fields& fields, std::string_view key, uint64_t min, uint64_t max, T& out) {
    if (const Field* f = fields.find(key)) {
      if (auto value = reader_.integer(f->value, key, min, max)) out = static_cast<T>(*value);
    }
  }

  void readSize(const Fields& fields, std::string_view key, uint64_t& out) {
    if (const Field* f = fields.find(key)) {
      if (auto value = reader_.size(f->value, key, 1, kMaxHeadersBytes)) out = *value;
    }
  }

  void readListeners(const Located& at) {
    std::optional<std::vector<Located>> items = reader_.sequence(at, "listeners");
    if (!items) return;
    UniqueNames names("listener name");
    std::map<std::string, SourceLocation> addresses;
    for (const Located& item : *items) {
      std::optional<Fields> fields = reader_.mapping(
          item, "listener",
          {"name", "address", "filters", "routes", "virtual_hosts", "max_request_headers_bytes",
           "max_request_headers_count", "request_header_timeout", "idle_timeout", "max_connections",
           "protocol", "http2", "tls"});
      if (!fields) continue;
      Listener listener;
      reader_.require(*fields, "listener", "name");
      reader_.require(*fields, "listener", "address");
      if (const Field* f = fields->find("name")) {
        if (auto name = reader_.nonEmptyString(f->value, "name")) {
          listener.name = *name;
          names.add(reader_, *name, f->value.where);
        }
      }
      if (const Field* f = fields->find("address")) {
        if (auto address = reader_.address(f->value, "address")) {
          listener.address = *address;
          // Port 0 asks the kernel for a free port, so several such listeners never collide.
          if (address->port != 0) {
            auto [it, inserted] = addresses.emplace(address->text(), f->value.where);
            if (!inserted) {
              reader_.error(f->value.where, "duplicate listener address '" + address->text() +
                                                "' (first at " + lineCol(it->second) + ")");
            }
          }
        }
      }
      if (const Field* f = fields->find("filters")) readFilters(f->value, listener.filters);
      const Field* routes = fields->find("routes");
      const Field* virtual_hosts = fields->find("virtual_hosts");
      if (routes != nullptr && virtual_hosts != nullptr) {
        reader_.error(fields->where(), "listener has both routes and virtual_hosts; use one");
      } else if (routes == nullptr && virtual_hosts == nullptr) {
        reader_.error(fields->where(), "listener needs routes or virtual_hosts");
      }
      if (routes != nullptr) {
        VirtualHost host{listener.name, {"*"}, {}};
        readRoutes(routes->value, host.routes);
        listener.virtual_hosts.push_back(std::move(host));
      }
      if (virtual_hosts != nullptr) readVirtualHosts(virtual_hosts->value, listener.virtual_hosts);
      readSize(*fields, "max_request_headers_bytes", listener.max_request_headers_bytes);
      readInteger(*fields, "max_request_headers_count", 1, kMaxUint32,
                  listener.max_request_headers_count);
      readDuration(*fields, "request_header_timeout", listener.request_header_timeout);
      readDuration(*fields, "idle_timeout", listener.idle_timeout);
      readInteger(*fields, "max_connections", 1, kMaxUint32, listener.max_connections);
      if (const Field* f = fields->find("protocol")) readProtocol(f->value, listener.protocol);
      if (const Field* f = fields->find("http2")) readHttp2(f->value, listener.http2);
      if (const Field* f = fields->find("tls")) listener.tls = readTlsServer(reader_, *f);
      config_.listeners.push_back(std::move(listener));
    }
  }

  void readProtocol(const Located& at, HttpProtocol& out) {
    std::optional<std::string> name = reader_.string(at, "protocol");
    if (!name) return;
    if (*name == "auto") {
      out = HttpProtocol::Auto;
    } else if (*name == "http1") {
      out = HttpProtocol::Http1;
    } else if (*name == "http2") {
      out = HttpProtocol::Http2;
    } else {
      reader_.error(at.where, "unknown protocol '" + *name + "' (known: auto, http1, http2)");
    }
  }

  void readHttp2(const Located& at, Http2Settings& out) {
    std::optional<Fields> fields = reader_.mapping(
        at, "http2",
        {"max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size"});
    if (!fields) return;
    readInteger(*fields, "max_concurrent_streams", 1, kMaxUint32, out.max_concurrent_streams);
    // RFC 9113 6.9.2: windows start at 65,535 and cannot exceed 2^31-1.
    constexpr uint64_t kMinWindow = 65535;
    constexpr uint64_t kMaxWindow = (uint64_t{1} << 31) - 1;
    for (auto [key, value] :
         {std::pair{"initial_stream_window_size", &out.initial_stream_window_size},
          std::pair{"initial_connection_window_size", &out.initial_connection_window_size}}) {
      if (const Field* f = fields->find(key)) {
        if (auto size = reader_.size(f->value, key, kMinWindow, kMaxWindow)) {
          *value = static_cast<uint32_t>(*size);
        }
      }
    }
  }

  // The filters' own settings belong to their factories; only the list's shape is checked here.
  void readFilters(const Located& at, std::vector<FilterConfig>& out) {
    std::optional<std::vector<Located>> items = reader_.sequence(at, "filters");
    if (!items) return;
    for (const Located& item : *items) {
      if (!item.node.IsMap() || item.node.size() != 1) {
        reader_.error(item.where,
                      "each filter must be a mapping with one key, its name, as in "
                      "'- access_log: {format: json}'");
        continue;
      }
      std::optional<Fields> fields = reader_.freeMapping(item, "filter");
      if (!fields || fields->all().empty()) continue;
      const Field& field = fields->all().front();
      if (field.key.empty()) {
        reader_.error(field.key_where, "filter name must not be empty");
        continue;
      }
      if (!field.value.node.IsMap() && !field.value.node.IsNull()) {
        reader_.error(field.value.where, "config of filter '" + field.key +
                                             "' must be a mapping or empty, not " +
                                             std::string(describe(field.value.node)));
        continue;
      }
      out.push_back({field.key, field.value.node, field.key_where});
    }
  }

  void readVirtualHosts(const Located& at, std::vector<VirtualHost>& out) {
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

  void readRoutes(const Located& at, std::vector<Route>& out) {
    std::optional<std::vector<Located>> items = reader_.sequence(at, "routes");
    if (!items) return;
    if (items->empty()) reader_.error(at.where, "routes must not be empty");
    for (const Located& item : *items) {
      if (std::optional<Route> route = readRoute(item)) out.push_back(std::move(*route));
    }
  }

  std::optional<Route> readRoute(const Located& at) {
    std::optional<Fields> fields =
        reader_.mapping(at, "route",
                        {"match", "cluster", "subset", "split", "direct_response", "timeout",
                         "retry", "request_headers", "response_headers"});
    if (!fields) return std::nullopt;
    Route route;
    route.location = at.where;
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
    readDuration(*fields, "timeout", route.timeout);
    if (const Field* f = fields->find("retry")) {
      if (route.direct_response) {
        reader_.error(f->key_where, "retry needs an upstream: a direct_response is never retried");
      }
      route.retry = readRetryPolicy(reader_, f->value);
    }
    if (const Field* f = fields->find("request_headers")) {
      readHeaderMutations(reader_, f->value, "request_headers", route.request_headers);
    }
    if (const Field* f = fields->find("response_headers")) {
      readHeaderMutations(reader_, f->value, "response_headers", route.response_headers);
    }
    return route;
  }

  void readMatch(const Located& at, RouteMatch& match) {
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

  std::optional<std::string> methodName(const Located& at) {
    std::optional<std::string> name = reader_.string(at, "method");
    if (!name) return std::nullopt;
    if (!http1::isToken(*name)) {
      reader_.error(at.where, "'" + *name + "' is not a valid method");
      return std::nullopt;
    }
    return upper(*name);
  }

  void readSplit(const Located& at, std::vector<WeightedCluster>& out) {
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

  std::optional<DirectResponse> readDirectResponse(const Located& at) {
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

  void readClusters(const Located& at) {
    std::optional<std::vector<Located>> items = reader_.sequence(at, "clusters");
    if (!items) return;
    UniqueNames names("cluster name");
    for (const Located& item : *items) {
      std::optional<Fields> fields =
          reader_.mapping(item, "cluster",
                          {"name", "endpoints", "service", "lb", "connect_timeout", "idle_timeout",
                           "max_idle_connections", "max_response_headers_bytes", "protocol", "tls",
                           "retry_budget", "health_check"});
      if (!fields) continue;
      Cluster cluster;
      cluster.location = item.where;
      reader_.require(*fields, "cluster", "name");
      if (const Field* f = fields->find("name")) {
        if (auto name = reader_.nonEmptyString(f->value, "name")) {
          cluster.name = *name;
          names.add(reader_, *name, f->value.where);
          cluster_names_.insert(*name);
        }
      }
      const Field* endpoints = fields->find("endpoints");
      const Field* service = fields->find("service");
      if (endpoints == nullptr && service == nullptr) {
        reader_.error(item.where, "cluster needs endpoints or service");
      } else if (endpoints != nullptr && service != nullptr) {
        reader_.error(item.where, "cluster has both endpoints and service; use one");
      }
      if (endpoints != nullptr) readEndpoints(endpoints->value, cluster.endpoints);
      if (service != nullptr) {
        if (auto name = reader_.nonEmptyString(service->value, "service")) {
          cluster.service = *name;
          service_refs_.push_back({*name, service->value.where});
        }
      }
      if (const Field* f = fields->find("lb")) readLbPolicy(f->value, cluster.lb);
      readDuration(*fields, "connect_timeout", cluster.connect_timeout);
      readDuration(*fields, "idle_timeout", cluster.idle_timeout);
      readInteger(*fields, "max_idle_connections", 0, kMaxUint32, cluster.max_idle_connections);
      readSize(*fields, "max_response_headers_bytes", cluster.max_response_headers_bytes);
      if (const Field* f = fields->find("protocol")) {
        readProtocol(f->value, cluster.protocol);
        if (cluster.protocol == HttpProtocol::Auto) {
          reader_.error(f->value.where, "a cluster's protocol is http1 or http2, not auto");
        }
      }
      if (const Field* f = fields->find("tls")) cluster.tls = readTlsClient(reader_, *f);
      if (const Field* f = fields->find("retry_budget")) {
        readRetryBudget(reader_, f->value, cluster.retry_budget);
      }
      if (const Field* f = fields->find("health_check")) {
        cluster.health_check = readHealthCheck(reader_, f->value);
        // Checks speak plain HTTP/1.1: against TLS or h2c-only upstreams every check would
        // fail and empty the cluster.
        if (cluster.tls || cluster.protocol == HttpProtocol::Http2) {
          reader_.error(f->key_where,
                        "health_check is plain HTTP/1.1; it cannot check a cluster with tls or "
                        "protocol http2");
        }
      }
      config_.clusters.push_back(std::move(cluster));
    }
  }

  void readEndpoints(const Located& at, std::vector<Endpoint>& out) {
    std::optional<std::vector<Located>> items = reader_.sequence(at, "endpoints");
    if (!items) return;
    if (items->empty()) reader_.error(at.where, "endpoints must not be empty");
    std::optional<Fields> fields;
    for (const Located& item : *items) {
      if (auto endpoint = readEndpoint(reader_, item, {"address", "weight", "meta"}, fields)) {
        out.push_back(std::move(*endpoint));
      }
    }
  }

  void readLbPolicy(const Located& at, LbPolicy& out) {
    std::optional<std::string> name = reader_.string(at, "lb");
    if (!name) return;
    static const std::map<std::string, LbPolicy> kPolicies{
        {"round_robin", LbPolicy::RoundRobin},
        {"least_request", LbPolicy::LeastRequest},
        {"random", LbPolicy::Random}};
    auto it = kPolicies.find(*name);
    if (it == kPolicies.end()) {
      reader_.error(at.where, "unknown lb '" + *name +
                                  "' (known: round_robin, least_request, "
                                  "random)");
      return;
    }
    out = it->second;
  }

  // Names can be used before they are defined, so references are checked once all are read.
  void checkReferences() {
    for (const Reference& ref : cluster_refs_) {
      if (!cluster_names_.contains(ref.name)) {
        reader_.error(ref.where, "unknown cluster '" + ref.name + "'");
      }
    }
    if (!config_.registry.configured()) {
      for (const Reference& ref : service_refs_) {
        reader_.error(ref.where,
                      "cluster uses service '" + ref.name + "' but no registry is configured");
      }
    }
  }

  YamlReader reader_;
  Config config_;
  std::vector<Reference> cluster_refs_;
  std::vector<Reference> service_refs_;
  std::set<std::string> cluster_names_;
};

Result<std::shared_ptr<const Config>> load(const std::string& yaml, const std::string& source,
                                           std::string source_path) {
  std::vector<Error> errors;
  std::optional<YamlDocument> document = parseYaml(yaml, source, {.expand_env = true}, errors);
  if (!document) return errors;
  try {
    return ConfigReader(source, std::move(source_path), std::move(document->unexpanded))
        .read(document->root, std::move(errors));
  } catch (const YAML::Exception& e) {
    // The readers check types before every access; this is a last line of defence.
    return Error{{source, e.mark.line + 1, e.mark.column + 1}, e.msg};
  }
}

}  // namespace

Result<std::shared_ptr<const Config>> loadConfigFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error{{path, 0, 0}, std::string("cannot open: ") + std::strerror(errno)};
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Error{{path, 0, 0}, std::string("cannot read: ") + std::strerror(errno)};
  return load(text.str(), path, path);
}

Result<std::shared_ptr<const Config>> loadConfigString(const std::string& yaml,
                                                       const std::string& source_name) {
  return load(yaml, source_name, "");
}

}  // namespace remora::config

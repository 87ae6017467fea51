// The typed configuration: what a remora YAML file means once it is parsed and validated.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/result.h"

namespace remora::config {

using Duration = std::chrono::milliseconds;
using Metadata = std::map<std::string, std::string>;

struct Address {
  std::string host;  // as written: an IPv4/IPv6 literal or a name ("[::1]" is stored as "::1")
  uint16_t port = 0;
  std::string text() const;  // "host:port", IPv6 in brackets
};

// Request header match: the (lowercased) header must be present with exactly this value.
struct HeaderMatch {
  std::string name;
  std::string value;
};

struct RouteMatch {
  // Exactly one path rule; none written means prefix "/".
  enum class PathKind { Prefix, Exact, Regex };
  PathKind path_kind = PathKind::Prefix;
  std::string path = "/";  // the prefix, the exact path, or the RE2 pattern (full match)
  std::vector<HeaderMatch> headers;
  std::vector<std::string> methods;  // empty: any method
};

struct WeightedCluster {
  std::string cluster;
  Metadata subset;  // endpoint metadata every chosen endpoint must carry; empty: all endpoints
  uint32_t weight = 0;
};

struct DirectResponse {
  int status = 200;
  std::string body;
};

struct HeaderMutations {
  std::vector<std::pair<std::string, std::string>> add;  // names lowercased; replaces existing
  std::vector<std::string> remove;                       // names lowercased
  bool empty() const { return add.empty() && remove.empty(); }
};

// What makes a try worth another (a route's `retry.on`); a bit set.
enum RetryOn : uint32_t {
  kRetryOn5xx = 1u << 0,             // any 5xx response, and every failure below
  kRetryOnGatewayError = 1u << 1,    // 502, 503, 504, and every failure below
  kRetryOnReset = 1u << 2,           // the connection broke, or the per-try timeout passed
  kRetryOnConnectFailure = 1u << 3,  // refused, unreachable or timed out while connecting
  kRetryOnRefusedStream = 1u << 4,   // HTTP/2 REFUSED_STREAM: the upstream did not process it
  kRetryOnRetriable4xx = 1u << 5,    // 409 Conflict
  // gRPC statuses of a response without a body (Trailers-Only), before anything reached the
  // client: cancelled (1), deadline-exceeded (4), resource-exhausted (8), internal (13),
  // unavailable (14).
  kRetryOnGrpcCancelled = 1u << 6,
  kRetryOnGrpcDeadlineExceeded = 1u << 7,
  kRetryOnGrpcResourceExhausted = 1u << 8,
  kRetryOnGrpcInternal = 1u << 9,
  kRetryOnGrpcUnavailable = 1u << 10,
};

// A route's retry policy. A try is repeated, on another endpoint when there is one, while no byte
// of its response has reached the client. The route `timeout` bounds all tries together.
struct RetryPolicy {
  uint32_t attempts = 2;  // retries after the first try
  // By default only what is safe to repeat whatever the method, and gRPC's "try again".
  uint32_t on = kRetryOnConnectFailure | kRetryOnRefusedStream | kRetryOnGrpcUnavailable |
                kRetryOnGrpcCancelled;
  std::vector<int> status_codes;  // more response statuses that are retried (`on: [429]`)
  Duration per_try_timeout{0};    // 0: only the route timeout
  // Full jitter: the n-th retry waits a random time below min(max, base * 2^(n-1)).
  Duration backoff_base{25};
  Duration backoff_max{250};
  // The request body is kept for the next try up to this size; a larger one is not retried.
  uint64_t max_body_bytes = 64 * 1024;
};

// One entry of a listener's or a route's `filters:` list: `- access_log: {format: json}`.
struct FilterConfig {
  std::string name;
  YAML::Node config;  // the filter's own mapping (may be null); its factory parses it
  SourceLocation location;
};

// A route's `mirror:`: a fire-and-forget copy of a share of its requests to another cluster
// (or subset), whose answer is discarded, or compared with the primary's when asked.
struct Mirror {
  std::string cluster;
  Metadata subset;
  double percent = 100;       // of the route's requests, chosen per request
  bool compare = false;       // count whether the shadow's status class matches the primary's
  bool compare_body = false;  // ... and a hash of the response body (`compare: {body: true}`)
  // The copy's body is streamed up to this size; a longer request's copy is cut.
  uint64_t max_body_bytes = 64 * 1024;
  // Copies in flight for this route across workers; beyond it a copy is dropped, never queued.
  uint32_t max_concurrent = 100;
  // From the copy's start to its answer; unset: the route's timeout (15s when that is 0).
  std::optional<Duration> timeout;
  SourceLocation location;
};

// One entry of a route's `hash:`: where a request's key for ring_hash and maglev comes from.
struct HashPolicy {
  enum class Kind { Header, Cookie, SourceIp, Query };
  Kind kind = Kind::Header;
  std::string name;  // the header (lowercase), cookie or query parameter
  // A cookie the request lacks is made up and set on the response with this Max-Age; 0: the
  // request has no key from it.
  Duration cookie_ttl{0};
};

struct Route {
  // Optional, unique within the listener: how canaries and /explain name a route.
  std::string name;
  RouteMatch match;
  // Exactly one action: `cluster` (+ subset), `split`, or `direct_response`.
  std::string cluster;
  Metadata subset;
  std::vector<WeightedCluster> split;
  std::optional<DirectResponse> direct_response;
  Duration timeout{15000};  // whole upstream response deadline; 0 disables
  // Keys for a cluster balanced by ring_hash or maglev: the first that yields one wins; none:
  // a random endpoint.
  std::vector<HashPolicy> hash;
  std::optional<RetryPolicy> retry;
  std::optional<Mirror> mirror;
  HeaderMutations request_headers;
  HeaderMutations response_headers;
  // Run after the listener's filters, for this route's requests only.
  std::vector<FilterConfig> filters;
  std::optional<Duration> stream_idle_timeout;  // overrides the listener's; 0 disables
  SourceLocation location;
};

// A copy whose route has no timeout still gets one: a shadow never lives unbounded.
inline constexpr Duration kDefaultMirrorTimeout{15000};

// The deadline of shadow copies of `route`'s requests: the copies' own `timeout` (a route's
// mirror's, or a canary's shadow's), else the route's, else the default.
inline Duration mirrorTimeout(const std::optional<Duration>& own, const Route& route) {
  if (own) return *own;
  return route.timeout.count() != 0 ? route.timeout : kDefaultMirrorTimeout;
}
inline Duration mirrorTimeout(const Route& route) {
  return mirrorTimeout(route.mirror ? route.mirror->timeout : std::nullopt, route);
}

struct VirtualHost {
  std::string name;
  // "*" matches any host, "*.example.com" any subdomain, "example.*" any suffix;
  // otherwise exact (port in the Host header ignored, case-insensitive).
  std::vector<std::string> domains;
  std::vector<Route> routes;
};

// `auto`: a listener serves HTTP/2 to clients that start with its preface (h2c) or pick it by
// ALPN, and HTTP/1.1 to the others.
enum class HttpProtocol { Auto, Http1, Http2 };

// HTTP/2 on a listener: what remora advertises in its SETTINGS and window updates.
struct Http2Settings {
  uint32_t max_concurrent_streams = 100;
  // Per stream: what a client may send before remora has passed it on (the upstream's pace).
  uint32_t initial_stream_window_size = 256 * 1024;
  uint32_t initial_connection_window_size = 1024 * 1024;
};

// A listener's TLS: its certificate chain and key, and with `ca` the CA that client certificates
// must chain to (then they are required). Paths, read when the config is prepared.
struct TlsServer {
  std::string cert;
  std::string key;
  std::string ca;           // "" : no client certificate asked for
  SourceLocation location;  // the `tls:` key, where problems with the files are reported
};

// A cluster's TLS: the CA the upstream's chain must lead to, the name its certificate must carry
// (also sent as SNI), and an optional client certificate for upstreams that require one.
struct TlsClient {
  std::string ca;
  std::string cert;  // cert and key come together or not at all
  std::string key;
  std::string sni;  // "" : no SNI and no name check
  SourceLocation location;
};

struct Listener {
  std::string name;
  Address address;
  std::vector<FilterConfig> filters;
  // A listener with `routes:` gets one virtual host named after it with domains ["*"].
  std::vector<VirtualHost> virtual_hosts;
  uint64_t max_request_headers_bytes = 60 * 1024;  // 431 beyond
  uint32_t max_request_headers_count = 100;        // 431 beyond
  Duration request_header_timeout{10000};          // 408 when the head is not complete in time
  Duration idle_timeout{60000};                    // idle keep-alive connections are closed
  uint32_t max_connections = 100000;               // per listener, all workers together
  HttpProtocol protocol = HttpProtocol::Auto;
  Http2Settings http2;
  std::optional<TlsServer> tls;
  Duration stream_idle_timeout{300000};  // a stream with no progress either way ends; 0 disables
  // Whether remora's own request headers (x-remora-*, fault headers) are honoured from this
  // listener's clients; they are stripped otherwise. Unless written: true for a listener bound
  // to loopback and for the inbound one (its port is service.port), false for the others.
  bool trusted = false;
  // How much of a request or response body the filters may hold while one of them has stopped
  // the chain.
  uint64_t max_buffered_body_bytes = 1024 * 1024;
};

struct Endpoint {
  Address address;
  uint32_t weight = 1;
  Metadata meta;
};

enum class LbPolicy {
  RoundRobin,
  LeastRequest,
  LeastConnections,
  Random,
  RingHash,
  Maglev,
  PeakEwma
};

// Whether `policy` spreads by the endpoints' weights (and so can ramp them for slow start).
inline bool weightedPolicy(LbPolicy policy) {
  return policy != LbPolicy::RingHash && policy != LbPolicy::Maglev;
}

// `slow_start:` of a cluster: an endpoint that enters rotation (new, or back from unhealthy or
// ejected) takes weight x max(min_weight_percent, (time in / window)^(1 / aggression)) until the
// window ends; not when every endpoint in rotation is new (a cold start has nobody to spare).
struct SlowStart {
  bool enabled = false;
  Duration window{30000};
  double aggression = 1.0;  // 1: linear; above 1 ramps faster at first
  uint32_t min_weight_percent = 10;
};

// `ring_hash:` of a cluster with `lb: ring_hash`.
struct RingHash {
  uint32_t min_ring_size = 1024;  // points on the ring, shared by weight
  // Bounded load: a request whose endpoint is above balance_factor x the mean of in-flight
  // requests (this worker's) walks on to the next; 0: off. At least 1 when on.
  double balance_factor = 0;
};

// An HTTP health check: GET `path`; a 2xx within `timeout` is a success. After
// `healthy_threshold` successes in a row a checked target is in, after `unhealthy_threshold`
// failures in a row it is out. Targets start out as unknown until the first result.
struct HealthCheck {
  std::string path = "/health";
  Duration interval{5000};
  Duration timeout{1000};
  uint32_t healthy_threshold = 2;
  uint32_t unhealthy_threshold = 3;
};

// How many of a cluster's requests may be retries at once, so that retries cannot multiply an
// outage: at most max(min_concurrency, percent of the requests in flight). Counted per worker.
struct RetryBudget {
  uint32_t percent = 20;
  uint32_t min_concurrency = 3;
};

// A cluster's circuit breaker: limits that hold across workers; overflow is answered 503 at once.
struct CircuitBreaker {
  bool enabled = true;  // `circuit_breaker: off`: no limits at all
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;                   // retries in flight at once
  uint32_t max_connections_per_endpoint = 0;  // 0: no limit
  Duration pending_timeout{5000};             // the cluster's connect_timeout unless written
};

// Ejecting endpoints that fail, judged from the outcomes workers report. An ejection lasts
// base_ejection_time, longer for an endpoint ejected again, at most max_ejection_time; at most
// max_ejection_percent of a cluster's endpoints are out at once.
struct OutlierDetection {
  bool enabled = true;  // `outlier_detection: off`
  // Failures in a row that eject an endpoint; 0 disables that detector. 5xx is off by default:
  // an application's 500 is usually about the request, not the host.
  uint32_t consecutive_5xx = 0;
  uint32_t consecutive_gateway_failure = 5;       // 502, 503, 504
  uint32_t consecutive_local_origin_failure = 5;  // connect failures, resets, timeouts
  // Ejects an endpoint whose share of failed requests in an interval reaches `threshold`.
  struct FailurePercentage {
    bool enabled = true;         // `failure_percentage: off`
    uint32_t threshold = 85;     // percent, 1..100
    uint32_t min_requests = 50;  // an endpoint with fewer in an interval is not judged
  };
  FailurePercentage failure_percentage;
  Duration interval{10000};
  Duration base_ejection_time{30000};
  Duration max_ejection_time{300000};
  uint32_t max_ejection_percent = 50;
};

struct Cluster {
  std::string name;
  std::vector<Endpoint> endpoints;  // static endpoints
  std::string service;              // otherwise resolved from the registry by this name
  LbPolicy lb = LbPolicy::RoundRobin;
  RingHash ring_hash;
  SlowStart slow_start;
  Duration connect_timeout{5000};
  Duration idle_timeout{60000};                     // idle upstream keep-alive connections closed
  uint32_t max_idle_connections = 64;               // per endpoint per worker
  uint64_t max_response_headers_bytes = 60 * 1024;  // 502 beyond
  // http1: keep-alive connections, one request each at a time; http2: one multiplexed
  // connection per endpoint per worker (h2c, or h2 by ALPN with `tls`). Never Auto.
  HttpProtocol protocol = HttpProtocol::Http1;
  std::optional<TlsClient> tls;
  RetryBudget retry_budget;
  CircuitBreaker circuit_breaker;
  // Active checks of every endpoint, combined with the registry's health: an endpoint is in
  // rotation only when both say so.
  std::optional<HealthCheck> health_check;
  OutlierDetection outlier_detection;
  // Below this percent of endpoints in rotation the cluster balances over all of them, since the
  // few left would fall over under everything; 0 disables.
  uint32_t panic_threshold = 50;
  SourceLocation location;
};

// A canary release (`canaries:`): a route's traffic moved step by step from the `baseline`
// subset of `cluster` to the `canary` subset while remora judges the canary against the baseline.
struct Canary {
  std::string name;
  std::string route;  // "listener/virtual_host/index", "listener/index", or a route's `name`
  std::string cluster;
  Metadata baseline;
  Metadata canary;
  std::vector<uint32_t> steps{5, 25, 50, 100};  // the canary's weight per step, percent
  Duration step_interval{60000};                // each step lasts at least this long ...
  uint64_t min_requests = 200;                  // ... and until each arm had this many
  // How a request is assigned to an arm: by a hash of this header's or cookie's value, so a
  // user stays on the canary as its weight grows; none: per request.
  enum class StickyBy { None, Header, Cookie };
  StickyBy sticky_by = StickyBy::None;
  std::string sticky_name;
  struct Analysis {
    double max_error_rate_increase = 0.01;  // canary error rate - baseline's, tolerated
    double max_p99_ratio = 1.5;             // canary p99 / baseline p99, tolerated
    // ... and this much above the baseline's p99 in any case: at sub-millisecond latencies a
    // ratio measures scheduler noise, not the canary.
    Duration min_p99_increase{1};
    double confidence = 0.98;              // 1 - the false-abort rate the judge allows
    std::optional<double> max_error_rate;  // absolute guards on the canary alone
    std::optional<Duration> max_p99;
  };
  Analysis analysis;
  // A step without enough traffic for this long ends the canary (or pauses it); none: it waits.
  std::optional<Duration> deadline;
  enum class OnDeadline { Abort, Pause };
  OnDeadline on_deadline = OnDeadline::Abort;
  // Gates: before moving on (a step, or the promotion), each webhook listed for that phase is
  // POSTed the canary's figures and must answer 2xx; until all of them do, the canary holds its
  // step, still judged. A refused gate is asked again after step_interval.
  struct Webhook {
    std::string url;  // http:// or https:// (checked against the system's CAs)
    bool on_step = true;
    bool on_promote = true;
    Duration timeout{5000};  // per call
    uint32_t retries = 2;    // more calls, a second apart, after one that failed or was refused
  };
  std::vector<Webhook> webhooks;
  // Shadow mode: before any user is sent to the canary, a step at weight 0 in which the canary
  // subset gets copies of `percent` of the route's requests (mirror settings; cluster and subset
  // are the canary's), judged on those copies' outcomes against the baseline's.
  std::optional<Mirror> shadow;
  // With an etcd or consul registry, the remoras running this canary decide together through
  // its KV store (one leader judges everyone's counts); false: this remora decides alone. Unset:
  // true with such a registry; `fleet: true` without one is an error.
  std::optional<bool> fleet;
  SourceLocation location;
};

struct FileRegistry {
  std::string path;  // YAML: {service: [{address, weight, meta, health}]}, re-read on change
};

// TLS to a registry reached over https://: the CA is required, a client certificate optional.
struct RegistryTls {
  std::string ca;
  std::string cert;  // with key: the client certificate the registry may ask for
  std::string key;
  std::string server_name;  // the name checked in the registry's certificate; "": the URL's host
};

// Consul's HTTP API on the local agent: blocking queries on /v1/health/service/<name>, and the
// agent API for self-registration.
struct ConsulRegistry {
  std::string address = "http://127.0.0.1:8500";  // http:// or https:// URL of the agent
  std::string token;                              // ACL token, sent as X-Consul-Token
  std::string datacenter;                         // "" : the agent's own
  bool stale = false;     // any server may answer, so discovery works without a leader
  Duration wait{300000};  // how long one blocking query may wait for a change
  RegistryTls tls;        // for an https:// address
  // How the registered instance's health is kept: `ttl` (remora reports the local app's health
  // as it sees it) or `http` (the agent checks remora's inbound listener itself).
  enum class Check { Ttl, Http };
  Check check = Check::Ttl;
  Duration deregister_critical_after{60000};  // Consul's minimum is 1m
};

// etcd's v3 JSON gateway. Instances are keys `<prefix><service>/<id>` with the value
// {"Addr":"host:port","Metadata":{...}}, the gRPC naming layout, attached to a lease.
struct EtcdRegistry {
  std::vector<std::string> endpoints{"http://127.0.0.1:2379"};  // tried in turn
  std::string prefix = "/services/";
  Duration lease_ttl{10000};
  std::string username;  // with password: authenticate and send the token
  std::string password;
  RegistryTls tls;  // for https:// endpoints
};

// DNS SRV records `_<service>._tcp.<domain>` (a service starting with '_' is used as the whole
// name), RFC 2782 priority and weight; re-resolved when the answer's TTL runs out.
struct DnsRegistry {
  std::vector<Address> servers;  // empty: the system's resolvers (/etc/resolv.conf)
  std::string domain;            // e.g. service.consul
  Duration min_ttl{1000};        // a floor: Consul answers TTL 0
  Duration timeout{2000};        // per query, all servers and tries together
};

// Exactly one provider.
struct Registry {
  std::optional<FileRegistry> file;
  std::optional<ConsulRegistry> consul;
  std::optional<EtcdRegistry> etcd;
  std::optional<DnsRegistry> dns;
  bool configured() const { return file || consul || etcd || dns; }
  const char* kind() const {
    return file ? "file" : consul ? "consul" : etcd ? "etcd" : dns ? "dns" : "none";
  }
};

// The local service remora is the sidecar of. With it, remora waits for the app to be healthy,
// registers the service (consul, etcd), keeps its health there, and deregisters on drain.
struct Service {
  std::string name;
  std::string id;       // default: the name; unique per registry
  std::string address;  // what peers dial; default 127.0.0.1
  uint16_t port = 0;    // what peers dial: remora's inbound listener
  std::vector<std::string> tags;
  Metadata meta;
  uint32_t weight_passing = 1;  // Consul's Weights; etcd publishes them as metadata
  uint32_t weight_warning = 1;
  std::optional<Address> app;  // where the local app listens; checked with `health`
  HealthCheck health;
};

struct Admin {
  Address address{"127.0.0.1", 9901};  // the full admin, with its POST controls
  // A second, read-only listener for the kubelet and Prometheus (GET /ready, /healthz,
  // /metrics), so that the pod's address never exposes the controls; none when unset.
  std::optional<Address> probe_address;
};

struct Lifecycle {
  Duration drain_delay{0};        // keep serving (with /ready 503) before closing listeners
  Duration drain_timeout{30000};  // in-flight requests get this long after listeners close
};

// `config_source:`: listeners, clusters and canaries come from one key of the registry's KV
// store (the registry configured beside it), in the config's own YAML; the file holds the rest
// (the bootstrap).
struct ConfigSource {
  enum class Store { Consul, Etcd };
  Store store = Store::Consul;
  std::string key;
  // This instance's own key ("" for none), merged over `key`: a listener, cluster or canary it
  // names replaces the one of that name, others are added. For a one-instance experiment.
  std::string instance_key;
  // The last good value is written here, for a start while the registry is down; "": none.
  std::string cache;
  SourceLocation location;
  // What the instance key's value brought ("clusters/users: replaced", "listeners/debug:
  // added"), set when a config is loaded with it.
  std::vector<std::string> instance_merge;
  // "consul key remora/orders": how errors and logs name where a config came from.
  std::string name() const { return nameOf(key); }
  std::string instanceName() const { return nameOf(instance_key); }
  std::string nameOf(const std::string& which) const {
    return std::string(store == Store::Consul ? "consul" : "etcd") + " key " + which;
  }
};

struct Config {
  std::string source_path;  // the file it came from ("" for a string)
  std::optional<ConfigSource> config_source;
  Admin admin;
  uint32_t workers = 0;  // 0: one per core
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  Registry registry;
  std::optional<Service> service;
  Lifecycle lifecycle;
  std::vector<Canary> canaries;
};

}  // namespace remora::config

// The admin listener's endpoints, served by libevent's evhttp on the main thread.
#include "admin/admin.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "admin/cluster_json.h"
#include "admin/explain.h"
#include "admin/probe_access.h"
#include "admin/web_assets.h"
#include "config/dump.h"
#include "proxy/lb/slow_start.h"
#include "proxy/listen_socket.h"
#include "proxy/server.h"

namespace remora {

namespace {

// Bounds for requests from wherever the listener is reachable (the probe faces the pod network):
// no admin request needs more, and evhttp's own defaults are unbounded.
constexpr size_t kMaxRequestHeadersBytes = 64 * 1024;
constexpr size_t kMaxRequestBodyBytes = 64 * 1024;

const char* const kTextPlain = "text/plain; charset=utf-8";

// A HEAD answer carries the Content-Length a GET's would and no body, whatever evhttp does with a
// body on HEAD.
void reply(evhttp_request* request, int status, std::string_view body,
           const char* content_type = kTextPlain, const char* cache_control = "no-store") {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", content_type);
  evhttp_add_header(headers, "Cache-Control", cache_control);
  evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
  evbuffer* out = evbuffer_new();
  if (evhttp_request_get_command(request) == EVHTTP_REQ_HEAD) {
    evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
  } else {
    evbuffer_add(out, body.data(), body.size());
  }
  evhttp_send_reply(request, status, nullptr, out);
  evbuffer_free(out);
}

// The page's script is a file of its own (/app.js) so that the policy can forbid inline script:
// the page shows names and reasons that come from the config and the registry, and an injected
// <script> or on*= attribute must not run even if one reached the DOM. Its style is inline
// ('unsafe-inline' for style only, which cannot run code); it fetches only its own origin.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void replyPage(evhttp_request* request) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Security-Policy", kPagePolicy);
  evhttp_add_header(headers, "Referrer-Policy", "no-referrer");
  // no-cache, not no-store: the browser may keep it but asks again, so an upgrade shows at once.
  reply(request, 200, admin::webIndexHtml(), "text/html; charset=utf-8", "no-cache");
}

// A document as the admin listener sends it. Bytes that are not UTF-8 (an /explain query's,
// or a registry's that slipped through) are replaced: a strict dump would throw, and an
// exception here would end the process.
std::string jsonText(const nlohmann::json& document) {
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json clustersJson(const Snapshot& snapshot, const BalancerLoads& loads) {
  const int64_t now_us = steadyMicros();
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& cluster : snapshot.clusters) {
    // In rotation: a member of the whole-cluster subset (in panic, every endpoint the registry
    // has in is one).
    std::vector<bool> in_rotation(cluster.endpoints.size(), false);
    const bool panic = !cluster.subsets.empty() && cluster.subsets[0].panic;
    if (!cluster.subsets.empty()) {
      for (uint32_t m : cluster.subsets[0].members) in_rotation[m] = true;
    }
    nlohmann::json endpoints = nlohmann::json::array();
    std::optional<admin::PolicyView> view;
    if (!cluster.subsets.empty()) view.emplace(cluster, cluster.subsets[0], &loads, now_us);
    for (size_t e = 0; e < cluster.endpoints.size(); ++e) {
      nlohmann::json entry = admin::endpointJson(cluster.endpoints[e], in_rotation[e], panic);
      if (view) view->add(static_cast<uint32_t>(e), entry);
      endpoints.push_back(std::move(entry));
    }
    clusters.push_back({{"name", cluster.config->name},
                        {"source", cluster.source},
                        {"lb", config::lbPolicyName(cluster.config->lb)},
                        {"panic", panic},
                        {"endpoints", std::move(endpoints)}});
  }
  return {{"version", snapshot.version}, {"clusters", std::move(clusters)}};
}

constexpr const char* kHelp =
    "remora admin\n"
    "GET  /                   the web page: listeners, clusters, endpoints, canaries, live\n"
    "GET  /help               this list\n"
    "GET  /ready              200 when serving, 503 otherwise\n"
    "GET  /healthz            200 while remora's event loops turn (draining too)\n"
    "GET  /metrics            Prometheus metrics\n"
    "GET  /clusters           clusters and endpoints (JSON)\n"
    "GET  /config_dump        the effective configuration (JSON)\n"
    "GET  /explain?listener=L&path=P&method=M&host=H&header=name:value\n"
    "                         which route a request would take and why (JSON)\n"
    "GET  /canaries           canary releases: state, weights, arms, tests, history (JSON)\n"
    "POST /canaries/<name>/promote|pause|resume|abort   steer a canary by hand (202: left for\n"
    "                         the fleet's leader)\n"
    "POST /healthcheck/fail   make /ready answer 503\n"
    "POST /healthcheck/ok     undo /healthcheck/fail\n"
    "POST /drain              start draining, as SIGTERM does\n"
    "POST /quitquitquit       exit now\n";

}  // namespace

Admin::Admin(event_base* base, Server& server, Access access)
    : server_(server), access_(access), http_(evhttp_new(base)) {
  evhttp_set_gencb(http_, &Admin::onRequest, this);
  evhttp_set_max_headers_size(http_, kMaxRequestHeadersBytes);
  evhttp_set_max_body_size(http_, kMaxRequestBodyBytes);
  // evhttp itself answers methods outside this set with 501; the probe takes them all so that
  // it can answer 405 with `allow`.
  const uint16_t probe_methods = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                 EVHTTP_REQ_TRACE | EVHTTP_REQ_PATCH;
  evhttp_set_allowed_methods(http_, access == Access::kProbe
                                        ? probe_methods
                                        : EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
}

Admin::~Admin() { evhttp_free(http_); }

bool Admin::listen(const config::Address& address, std::string& bound, std::string& error) {
  evhttp_bound_socket* socket =
      evhttp_bind_socket_with_handle(http_, address.host.c_str(), address.port);
  if (socket == nullptr) {
    error = "cannot listen on " + address.text();
    return false;
  }
  bound = localAddressText(evhttp_bound_socket_get_fd(socket));
  return true;
}

void Admin::onRequest(evhttp_request* request, void* self) {
  static_cast<Admin*>(self)->handle(request);
}

bool Admin::handleRead(evhttp_request* request, const std::string& path) {
  if (path == "/ready") {
    if (server_.ready()) {
      const std::string note = server_.readyNote();
      reply(request, 200, note.empty() ? "READY\n" : "READY (" + note + ")\n");
    } else {
      reply(request, 503, server_.notReadyReason() + "\n");
    }
  } else if (path == "/healthz") {
    const std::string problem = server_.livenessProblem();
    reply(request, problem.empty() ? 200 : 503, problem.empty() ? "ALIVE\n" : problem + "\n");
  } else if (path == "/metrics") {
    reply(request, 200, server_.renderMetrics(), "text/plain; version=0.0.4; charset=utf-8");
  } else {
    return false;
  }
  return true;
}

void Admin::handle(evhttp_request* request) {
  const char* raw_path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
  const std::string path = raw_path != nullptr && *raw_path != '\0' ? raw_path : "/";
  if (access_ == Access::kProbe) {
    switch (admin::probeVerdict(evhttp_request_get_command(request), path)) {
      case admin::ProbeVerdict::kServe:
        handleRead(request, path);
        return;
      case admin::ProbeVerdict::kMethodNotAllowed:
        evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", admin::kProbeAllow);
        reply(request, 405, "read-only: use GET or HEAD\n");
        return;
      case admin::ProbeVerdict::kNotFound:
        reply(request, 404, "the probe listener serves only /ready, /healthz and /metrics\n");
        return;
    }
  }
  if (handleRead(request, path)) return;
  const bool post = evhttp_request_get_command(request) == EVHTTP_REQ_POST;
  auto needPost = [&]() {
    if (post) return true;
    reply(request, 405, "use POST\n");
    return false;
  };
  if (path == "/clusters") {
    nlohmann::json clusters = clustersJson(*server_.snapshot(), server_.balancerLoads());
    clusters["registry"] = server_.registryJson();
    reply(request, 200, jsonText(clusters), "application/json");
  } else if (path == "/config_dump") {
    nlohmann::json dump = {{"version", server_.snapshot()->version},
                           {"origin", server_.configOriginJson()},
                           {"config", config::toJson(*server_.snapshot()->config)}};
    reply(request, 200, jsonText(dump), "application/json");
  } else if (path == "/explain") {
    const char* query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(request));
    const admin::ExplainReply explained = admin::explain(
        *server_.snapshot(), query != nullptr ? query : "", &server_.balancerLoads());
    reply(request, explained.status, jsonText(explained.body), "application/json");
  } else if (path == "/canaries") {
    reply(request, 200, server_.canaries().json(), "application/json");
  } else if (path.starts_with("/canaries/")) {
    if (!needPost()) return;
    steerCanary(request, path.substr(std::string_view("/canaries/").size()));
  } else if (path == "/healthcheck/fail") {
    if (!needPost()) return;
    server_.setHealthcheckFailed(true);
    reply(request, 200, "OK\n");
  } else if (path == "/healthcheck/ok") {
    if (!needPost()) return;
    server_.setHealthcheckFailed(false);
    reply(request, 200, "OK\n");
  } else if (path == "/drain") {
    if (!needPost()) return;
    server_.startDrain("POST /drain");
    reply(request, 200, "DRAINING\n");
  } else if (path == "/quitquitquit") {
    if (!needPost()) return;
    reply(request, 200, "OK\n");
    server_.quit();
  } else if (path == "/") {
    replyPage(request);
  } else if (path == "/app.js") {
    reply(request, 200, admin::webAppJs(), "text/javascript; charset=utf-8", "no-cache");
  } else if (path == "/help") {
    reply(request, 200, kHelp);
  } else {
    reply(request, 404, "no such admin path; see /help\n");
  }
}

void Admin::steerCanary(evhttp_request* request, std::string_view rest) {
  const size_t slash = rest.rfind('/');
  const std::string_view name = rest.substr(0, slash == std::string_view::npos ? 0 : slash);
  const std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  const std::optional<canary::Steering> action = canary::steeringFromName(verb);
  if (!action) {
    reply(request, 404, "use /canaries/<name>/promote, pause, resume or abort\n");
    return;
  }
  std::string error;
  using Steered = canary::CanaryController::Steered;
  switch (server_.canaries().steer(name, *action, error)) {
    case Steered::Applied:
      reply(request, 200, server_.canaries().json(), "application/json");
      return;
    case Steered::Forwarded:
      // The fleet's leader decides; every remora follows its state within a second.
      reply(request, 202, server_.canaries().json(), "application/json");
      return;
    case Steered::NoSuchCanary:
      reply(request, 404, error + "\n");
      return;
    case Steered::NotAllowed:
      reply(request, 409, error + "\n");
      return;
    case Steered::Unreachable:
      reply(request, 503, error + "\n");
      return;
  }
}

}  // namespace remora

// Consul's HTTP API wire format: the /v1/health/service reply parser, the bodies remora sends,
// and the request pieces (query values, token) the provider and the registrar share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "discovery/http_client.h"
#include "discovery/registrar.h"
#include "discovery/registry_view.h"

namespace remora::discovery::consul {

// The instances of one /v1/health/service/<name> reply, in Consul's order. Critical and
// maintenance instances, and those whose weight for their state is 0, are kept with
// healthy=false and a reason, so /clusters can say why they get no traffic. Never throws:
// anything that is not Consul's shape (not an array, a field of the wrong type) is rejected
// whole, with `error` naming the entry and the field.
std::optional<std::vector<RegistryEndpoint>> parseHealthReply(std::string_view body,
                                                              std::string& error);

// The instance's id in the agent: the configured one, else the name (Consul's own default).
std::string serviceId(const config::Service& service);

// The TTL check's id Consul derives from the service id when a registration has one check.
std::string checkId(const config::Service& service);

// PUT /v1/agent/service/register's body: the service, its weights and one check, `ttl` (the
// agent expects a status update within `ttl`) or `http` (the agent GETs remora's inbound
// listener at service.health.path), starting at `health` instead of Consul's critical.
std::string encodeRegistration(const config::Service& service, const config::ConsulRegistry& config,
                               std::chrono::milliseconds ttl, AppHealth health);

// PUT /v1/agent/check/update/<check id>'s body.
std::string encodeCheckUpdate(AppHealth health);

// A Go duration string as Consul parses it: "60s", or "1500ms" when not whole seconds.
std::string durationText(std::chrono::milliseconds duration);

// Percent-encodes everything but RFC 3986's unreserved characters, for a path segment or a
// query value.
std::string urlEscape(std::string_view text);

// An X-Consul-Index header's value; nullopt unless it is a whole decimal number.
std::optional<uint64_t> parseIndex(const std::string& text);

// A KV key ("remora/orders") as a URL path: each segment escaped, the slashes kept.
std::string kvPath(std::string_view key);

// What went wrong with an exchange, for logs, on_error and status(): the client's error, or the
// status and the start of the body, bytes other than printable ASCII replaced by '?' (the text
// ends up in /clusters' JSON, and a proxy in between may answer anything).
std::string describeFailure(const HttpResponse& response);

// The ACL token to send: the configured one, else $CONSUL_HTTP_TOKEN as Consul's own clients do.
std::string resolveToken(const config::ConsulRegistry& config);

}  // namespace remora::discovery::consul

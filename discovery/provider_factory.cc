// The explicit table from a `registry:` provider to its implementation.
#include "discovery/provider_factory.h"

#include <algorithm>

#include "discovery/consul/consul_provider.h"
#include "discovery/consul/consul_registrar.h"
#include "discovery/dns/dns_provider.h"
#include "discovery/etcd/etcd_provider.h"
#include "discovery/etcd/etcd_registrar.h"
#include "proxy/log.h"

namespace remora::discovery {
namespace {

// An https:// registry needs the TLS settings on the shared client before the first call. A bad
// file is a startup error in the log, yet the provider and registrar are still made: every call
// then fails ("https needs TLS settings") and is retried, so status(), on_error and /ready keep
// showing the registry as down, instead of remora quietly running as if none were configured.
void prepareTls(const char* kind, const std::vector<std::string>& urls,
                const config::RegistryTls& tls, HttpClient& http) {
  const auto https = std::find_if(
      urls.begin(), urls.end(), [](const std::string& url) { return url.starts_with("https://"); });
  if (https == urls.end()) return;
  std::string error;
  if (!http.setTls({tls.ca, tls.cert, tls.key, tls.server_name}, error)) {
    LOG_ERROR("registry %s: TLS to %s: %s", kind, https->c_str(), error.c_str());
  }
}

}  // namespace

void prepareTls(const config::Registry& registry, HttpClient& http) {
  if (registry.consul) prepareTls("consul", {registry.consul->address}, registry.consul->tls, http);
  if (registry.etcd) prepareTls("etcd", registry.etcd->endpoints, registry.etcd->tls, http);
}

std::unique_ptr<RegistryProvider> makeProvider(const config::Registry& registry, HttpClient& http,
                                               ProviderCallbacks callbacks) {
  prepareTls(registry, http);
  if (registry.consul) {
    return std::make_unique<consul::ConsulProvider>(http, *registry.consul, std::move(callbacks));
  }
  if (registry.etcd) {
    return std::make_unique<etcd::EtcdProvider>(http, *registry.etcd, std::move(callbacks));
  }
  if (registry.dns) {
    return std::make_unique<dns::DnsProvider>(http.base(), *registry.dns, std::move(callbacks));
  }
  return nullptr;
}

std::unique_ptr<Registrar> makeRegistrar(const config::Registry& registry,
                                         const config::Service& service, HttpClient& http) {
  prepareTls(registry, http);
  if (registry.consul) {
    return std::make_unique<consul::ConsulRegistrar>(http, *registry.consul, service);
  }
  if (registry.etcd) return std::make_unique<etcd::EtcdRegistrar>(http, *registry.etcd, service);
  return nullptr;
}

}  // namespace remora::discovery

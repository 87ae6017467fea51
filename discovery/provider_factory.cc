// The explicit table from a `registry:` provider to its implementation.
#include "discovery/provider_factory.h"

#include "discovery/consul/consul_provider.h"
#include "discovery/consul/consul_registrar.h"
#include "discovery/dns/dns_provider.h"
#include "discovery/etcd/etcd_provider.h"
#include "discovery/etcd/etcd_registrar.h"
#include "proxy/log.h"

namespace remora::discovery {
namespace {

// An https:// agent needs the TLS settings on the shared client before the first call. A bad
// file is a startup error in the log, yet the provider and registrar are still made: every call
// then fails ("https needs TLS settings") and is retried, so status(), on_error and /ready keep
// showing the registry as down, instead of remora quietly running as if none were configured.
void prepareConsulTls(const config::ConsulRegistry& consul, HttpClient& http) {
  if (!consul.address.starts_with("https://")) return;
  std::string error;
  if (!http.setTls({consul.ca, consul.cert, consul.key, consul.tls_server_name}, error)) {
    LOG_ERROR("registry consul: TLS to %s: %s", consul.address.c_str(), error.c_str());
  }
}

}  // namespace

std::unique_ptr<RegistryProvider> makeProvider(const config::Registry& registry, HttpClient& http,
                                               ProviderCallbacks callbacks) {
  if (registry.consul) {
    prepareConsulTls(*registry.consul, http);
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
  if (registry.consul) {
    prepareConsulTls(*registry.consul, http);
    return std::make_unique<consul::ConsulRegistrar>(http, *registry.consul, service);
  }
  if (registry.etcd) return std::make_unique<etcd::EtcdRegistrar>(http, *registry.etcd, service);
  return nullptr;
}

}  // namespace remora::discovery

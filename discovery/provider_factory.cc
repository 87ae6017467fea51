// The explicit table from a `registry:` provider to its implementation.
#include "discovery/provider_factory.h"

#include "discovery/dns/dns_provider.h"
#include "discovery/etcd/etcd_provider.h"
#include "discovery/etcd/etcd_registrar.h"

namespace remora::discovery {

std::unique_ptr<RegistryProvider> makeProvider(const config::Registry& registry, HttpClient& http,
                                               ProviderCallbacks callbacks) {
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
  if (registry.etcd) return std::make_unique<etcd::EtcdRegistrar>(http, *registry.etcd, service);
  return nullptr;
}

}  // namespace remora::discovery

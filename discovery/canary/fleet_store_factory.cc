// The registry -> fleet store table, and this remora's id in it.
#include "discovery/canary/fleet_store_factory.h"

#include <unistd.h>

#include "discovery/canary/consul_fleet_store.h"
#include "discovery/canary/etcd_fleet_store.h"

namespace remora::canary {

std::string fleetId(const config::Config& config) {
  if (config.service) return config.service->id;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return std::string(host[0] != 0 ? host : "remora") + ":" + std::to_string(getpid());
}

std::unique_ptr<FleetStore> makeFleetStore(const config::Config& config,
                                           discovery::HttpClient& http) {
  if (config.registry.etcd) {
    return std::make_unique<EtcdFleetStore>(http, *config.registry.etcd, fleetId(config));
  }
  if (config.registry.consul) {
    return std::make_unique<ConsulFleetStore>(http, *config.registry.consul, fleetId(config));
  }
  return nullptr;
}

}  // namespace remora::canary

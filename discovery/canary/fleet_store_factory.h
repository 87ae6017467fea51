// Makes the fleet store of a config's registry: etcd or Consul, or none (each remora decides
// alone).
#pragma once

#include <memory>

#include "config/config.h"
#include "discovery/canary/fleet_store.h"
#include "discovery/http_client.h"

namespace remora::canary {

// This remora's id among the fleet: `service.id` when a service is configured (unique per
// registry, as registration needs), else host:pid.
std::string fleetId(const config::Config& config);

// Null when the registry has no KV store. `http` must have the registry's TLS settings.
std::unique_ptr<FleetStore> makeFleetStore(const config::Config& config,
                                           discovery::HttpClient& http);

}  // namespace remora::canary

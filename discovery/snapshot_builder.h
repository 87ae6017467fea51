// Builds snapshots: a config is prepared once, then combined with each registry view.
#pragma once

#include <memory>

#include "config/result.h"
#include "discovery/health/health_checker.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"

namespace remora::discovery {

// Builds the listeners' filter factories and the TLS contexts (reading the certificate files)
// and resolves static endpoint names; every error with its file:line:col. Runs on the main thread
// (name resolution may block).
Result<std::shared_ptr<const LoadedConfig>> prepareConfig(
    std::shared_ptr<const config::Config> config);

// Combines a prepared config with what the registry says and what active health checks found
// (`health` may be null); never fails: a service the registry does not know yields an empty
// cluster, an endpoint whose address cannot be resolved is kept out of rotation with the reason.
std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              const RegistryView& registry,
                                              const HealthChecker* health, uint64_t version);

// What a cluster's active health checks must check: its endpoints, static or from the registry.
std::vector<HealthTarget> healthTargets(const config::Config& config, const RegistryView& registry);

// Resolves "host:port" numerically or through the system resolver.
bool resolveAddress(const config::Address& address, sockaddr_storage& out, socklen_t& length,
                    std::string& error);

}  // namespace remora::discovery

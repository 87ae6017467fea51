// Builds snapshots: a config is prepared once, then combined with each registry view.
#pragma once

#include <memory>

#include "config/result.h"
#include "discovery/registry_view.h"
#include "discovery/snapshot.h"

namespace remora::discovery {

// Builds the listeners' filter factories and the TLS contexts (reading the certificate files)
// and resolves static endpoint names; every error with its file:line:col. Runs on the main thread
// (name resolution may block).
Result<std::shared_ptr<const LoadedConfig>> prepareConfig(
    std::shared_ptr<const config::Config> config);

// Combines a prepared config with what the registry says; never fails: a service the registry
// does not know yields an empty cluster, an endpoint whose address cannot be resolved is kept
// out of rotation with the reason.
std::shared_ptr<const Snapshot> buildSnapshot(std::shared_ptr<const LoadedConfig> loaded,
                                              const RegistryView& registry, uint64_t version);

// Resolves "host:port" numerically or through the system resolver.
bool resolveAddress(const config::Address& address, sockaddr_storage& out, socklen_t& length,
                    std::string& error);

}  // namespace remora::discovery

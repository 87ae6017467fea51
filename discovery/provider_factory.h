// Makes the registry provider and the registrar that a config's `registry:` names.
#pragma once

#include <memory>

#include "config/config.h"
#include "discovery/http_client.h"
#include "discovery/registrar.h"
#include "discovery/registry_provider.h"

namespace remora::discovery {

// Null for `file` (the server watches the file itself) and when no registry is configured.
std::unique_ptr<RegistryProvider> makeProvider(const config::Registry& registry, HttpClient& http,
                                               ProviderCallbacks callbacks);

// Gives `http` the registry's TLS settings when it is reached over https:// (a bad file is logged:
// every call then fails, and says so).
void prepareTls(const config::Registry& registry, HttpClient& http);

// Null when the registry cannot hold registrations (file, dns) or none is configured.
std::unique_ptr<Registrar> makeRegistrar(const config::Registry& registry,
                                         const config::Service& service, HttpClient& http);

}  // namespace remora::discovery

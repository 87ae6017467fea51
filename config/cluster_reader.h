// Reads the `clusters:` block: endpoints or a registry service, balancing, connections, TLS,
// retry budget, health checks, circuit breaker, outlier detection and panic threshold.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Registry services named by clusters are added to `service_refs`, for the loader to check
// that a registry is configured.
void readClusters(YamlReader& reader, const Located& at, std::vector<Cluster>& out,
                  References& service_refs);

}  // namespace remora::config

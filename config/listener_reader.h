// Reads the `listeners:` block: each listener's address, limits, protocol, TLS, filters and routes.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Clusters named by routes are added to `cluster_refs`, for the loader to check.
void readListeners(YamlReader& reader, const Located& at, std::vector<Listener>& out,
                   References& cluster_refs);

}  // namespace remora::config

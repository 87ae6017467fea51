// Reads the `listeners:` block: each listener's address, limits, protocol, TLS, filters and routes.
#pragma once

#include <optional>
#include <vector>

#include "config/config.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Clusters named by routes are added to `cluster_refs`, for the loader to check. `service`
// (read first, wherever it is written) decides which listener is the inbound one, trusted
// unless it says otherwise.
void readListeners(YamlReader& reader, const Located& at, const std::optional<Service>& service,
                   std::vector<Listener>& out, References& cluster_refs);

}  // namespace remora::config

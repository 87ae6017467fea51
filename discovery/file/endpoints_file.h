// The `file` registry's format: {service: [{address, weight, meta, health} | "host:port"]}.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/result.h"

namespace remora::discovery {

struct FileEndpoint {
  config::Endpoint endpoint;
  enum class Health { Healthy, Unhealthy, Draining } health = Health::Healthy;
};

using EndpointsFile = std::map<std::string, std::vector<FileEndpoint>>;

// Every error is returned with file:line:col; no exception escapes. An empty document is an
// error (write `{}` for no services) so that a file caught half-written never empties clusters.
Result<EndpointsFile> parseEndpointsFile(const std::string& yaml_text,
                                         const std::string& source_name);

}  // namespace remora::discovery

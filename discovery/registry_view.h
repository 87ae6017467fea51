// RegistryView: what the registry currently says about each service, as snapshots consume it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace remora::discovery {

struct RegistryEndpoint {
  config::Endpoint endpoint;
  bool healthy = true;
  std::string health_reason;  // why the registry has it out ("unhealthy", "draining")
};

struct RegistryView {
  std::string source;  // "file:/etc/remora/endpoints.yaml"
  std::map<std::string, std::vector<RegistryEndpoint>> services;
};

}  // namespace remora::discovery

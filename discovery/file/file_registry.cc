// The `file` registry provider's translation from the parsed file to a RegistryView.
#include "discovery/file/file_registry.h"

#include "discovery/file/endpoints_file.h"

namespace remora::discovery {

Result<RegistryView> fileRegistryView(const std::string& path, const std::string& content) {
  auto parsed = parseEndpointsFile(content, path);
  if (!parsed) return parsed.errors();
  RegistryView view;
  view.source = "file:" + path;
  for (const auto& [service, endpoints] : *parsed) {
    auto& out = view.services[service];
    for (const auto& entry : endpoints) {
      RegistryEndpoint endpoint;
      endpoint.endpoint = entry.endpoint;
      endpoint.healthy = entry.health == FileEndpoint::Health::Healthy;
      if (entry.health == FileEndpoint::Health::Unhealthy) endpoint.health_reason = "unhealthy";
      if (entry.health == FileEndpoint::Health::Draining) endpoint.health_reason = "draining";
      out.push_back(std::move(endpoint));
    }
  }
  return view;
}

}  // namespace remora::discovery

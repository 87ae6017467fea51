// Reads the `service:` block (the local service and its app's health check) and the
// `health_check:` blocks of clusters.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

std::optional<Service> readService(YamlReader& reader, const Located& at);

// {path, interval, timeout, healthy_threshold, unhealthy_threshold}
std::optional<HealthCheck> readHealthCheck(YamlReader& reader, const Located& at);

}  // namespace remora::config

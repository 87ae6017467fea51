// The `file` registry: a YAML file of services and their endpoints, turned into a RegistryView.
#pragma once

#include <string>

#include "config/result.h"
#include "discovery/registry_view.h"

namespace remora::discovery {

// Parses the file's `content`; errors carry `path`:line:col.
Result<RegistryView> fileRegistryView(const std::string& path, const std::string& content);

}  // namespace remora::discovery

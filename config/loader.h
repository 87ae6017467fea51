// Loading a remora YAML config into a typed, validated Config.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "config/result.h"

namespace remora::config {

// Every error found is returned, each with file:line:col; no exception escapes.
Result<std::shared_ptr<const Config>> loadConfigFile(const std::string& path);

// As loadConfigFile, for text that did not come from a file: errors name `source_name` and
// Config::source_path stays empty.
Result<std::shared_ptr<const Config>> loadConfigString(const std::string& yaml,
                                                       const std::string& source_name);

}  // namespace remora::config

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

// A bootstrap file (`bootstrap`, read from `path`) whose `config_source:` names a key, with the
// key's value `value`: the listeners, clusters and canaries are the value's, the rest the file's.
// Errors in the value name it `value_name` (ConfigSource::name(): "consul key remora/orders");
// references between the two (a service, a registry) are checked as in one file.
Result<std::shared_ptr<const Config>> loadConfigWithSource(const std::string& bootstrap,
                                                           const std::string& path,
                                                           const std::string& value,
                                                           const std::string& value_name);

}  // namespace remora::config

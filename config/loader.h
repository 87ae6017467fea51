// Loading a remora YAML config into a typed, validated Config.
#pragma once

#include <memory>
#include <optional>
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

// A config source's value (the text of a key, or of a file in its place), and what errors call
// it ("consul key remora/orders").
struct SourceText {
  std::string text;
  std::string name;
};

// A bootstrap file (`bootstrap`, read from `path`) whose `config_source:` names a key, with the
// key's value `value`: the listeners, clusters and canaries are the value's, the rest the file's.
// `instance` (the instance key's value, when it has one) is merged over it by name.
// References between them (a service, a registry) are checked as in one file.
Result<std::shared_ptr<const Config>> loadConfigWithSource(
    const std::string& bootstrap, const std::string& path, const SourceText& value,
    const std::optional<SourceText>& instance = std::nullopt);

}  // namespace remora::config

// Small helpers filters use to read their YAML config with file:line:col errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/result.h"

namespace remora::filters {

// The place of `node`, in the file of `config`.
SourceLocation locationOf(const config::FilterConfig& config, const YAML::Node& node);

// Adds an error for every key of the mapping `node` that is not in `known`.
void checkKnownKeys(const config::FilterConfig& config, const YAML::Node& node,
                    std::initializer_list<const char*> known, const std::string& what,
                    std::vector<Error>& errors);

// Reads `{add: {name: value}, remove: [name]}` into `out`.
void readHeaderMutations(const config::FilterConfig& config, const YAML::Node& node,
                         config::HeaderMutations& out, std::vector<Error>& errors);

}  // namespace remora::filters

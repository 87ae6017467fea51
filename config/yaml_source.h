// Turning YAML text into a node tree that the typed readers can walk safely.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/result.h"

namespace remora::config {

struct YamlSourceOptions {
  // Replace ${VAR} in every scalar value (never in keys) after parsing, so marks stay right.
  bool expand_env = false;
};

struct YamlDocument {
  YAML::Node root;
  // 1-based (line, column) of scalars whose ${VAR} expansion failed and was reported: readers
  // skip them rather than report the unexpanded text as a second, misleading error.
  std::set<std::pair<int, int>> unexpanded;
};

// Parses the first document of `text`, which must be UTF-8, as must every expanded scalar.
// yaml-cpp exceptions become errors with their mark.
// Anchors and aliases are allowed, but a tree that contains itself, nests deeper than a config
// ever needs, or grows past a sane size once aliases are followed is rejected, so that every
// later walk (typed reading, dumping, fuzzing) is bounded. Returns nullopt only for those fatal
// problems; expansion errors are appended to `errors` and the tree is still returned.
std::optional<YamlDocument> parseYaml(std::string_view text, const std::string& source,
                                      const YamlSourceOptions& options, std::vector<Error>& errors);

}  // namespace remora::config

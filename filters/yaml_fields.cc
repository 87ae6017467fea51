// YAML reading helpers shared by the filters' config parsers.
#include "filters/yaml_fields.h"

#include "proxy/header_map.h"

namespace remora::filters {

SourceLocation locationOf(const config::FilterConfig& config, const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null()) return config.location;
  return {config.location.file, mark.line + 1, mark.column + 1};
}

void checkKnownKeys(const config::FilterConfig& config, const YAML::Node& node,
                    std::initializer_list<const char*> known, const std::string& what,
                    std::vector<Error>& errors) {
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    bool found = false;
    std::string list;
    for (const char* k : known) {
      found = found || key == k;
      if (!list.empty()) list += ", ";
      list += k;
    }
    if (!found) {
      errors.push_back({locationOf(config, item.first),
                        "unknown key '" + key + "' in " + what + " (known: " + list + ")"});
    }
  }
}

void readHeaderMutations(const config::FilterConfig& config, const YAML::Node& node,
                         config::HeaderMutations& out, std::vector<Error>& errors) {
  if (!node.IsMap()) {
    errors.push_back({locationOf(config, node), "expected a mapping {add, remove}"});
    return;
  }
  checkKnownKeys(config, node, {"add", "remove"}, "header mutations", errors);
  if (const YAML::Node add = node["add"]) {
    if (!add.IsMap()) {
      errors.push_back({locationOf(config, add), "'add' must be a mapping of name: value"});
    } else {
      for (const auto& item : add) {
        if (!item.second.IsScalar()) {
          errors.push_back({locationOf(config, item.second), "header value must be a string"});
          continue;
        }
        out.add.emplace_back(toLower(item.first.Scalar()), item.second.Scalar());
      }
    }
  }
  if (const YAML::Node remove = node["remove"]) {
    if (!remove.IsSequence()) {
      errors.push_back({locationOf(config, remove), "'remove' must be a list of header names"});
    } else {
      for (const auto& item : remove) {
        if (!item.IsScalar()) {
          errors.push_back({locationOf(config, item), "header name must be a string"});
          continue;
        }
        out.remove.push_back(toLower(item.Scalar()));
      }
    }
  }
}

}  // namespace remora::filters

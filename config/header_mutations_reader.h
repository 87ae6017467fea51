// Reads header edits `{add: {name: value}, remove: [name]}`: route-level and the headers filter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// A header name as written, lowercased; an error when it is not an RFC 9110 token.
std::optional<std::string> readHeaderName(YamlReader& reader, const std::string& name,
                                          const SourceLocation& where);

void readHeaderMutations(YamlReader& reader, const Located& at, std::string_view what,
                         HeaderMutations& out);

}  // namespace remora::config

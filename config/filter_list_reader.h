// Reads a `filters:` list, on a listener or a route: `- name: {config}` entries, in order.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// The filters' own settings (and their names) belong to the filter registry; only the list's
// shape is checked here.
void readFilterList(YamlReader& reader, const Located& at, std::vector<FilterConfig>& out);

}  // namespace remora::config

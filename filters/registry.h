// The one table from a filter's YAML name to the function that builds its factory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

// Parses and validates one `filters:` entry; errors carry the entry's file:line:col.
Result<std::shared_ptr<const FilterFactory>> createFilterFactory(
    const config::FilterConfig& config);

// The names createFilterFactory knows, for error messages and docs.
std::vector<std::string> knownFilterNames();

}  // namespace remora::filters

// The filter name -> factory table. Adding a filter means adding one row here.
#include "filters/registry.h"

#include "filters/access_log/access_log_filter.h"
#include "filters/fault/fault_filter.h"
#include "filters/headers/headers_filter.h"
#include "filters/rate_limit/rate_limit_filter.h"

namespace remora::filters {

namespace {

using Builder = Result<std::shared_ptr<const FilterFactory>> (*)(const config::FilterConfig&);

struct Entry {
  const char* name;
  Builder build;
};

constexpr Entry kFilters[] = {
    {"access_log", &createAccessLogFilterFactory},
    {"fault", &createFaultFilterFactory},
    {"headers", &createHeadersFilterFactory},
    {"rate_limit", &createRateLimitFilterFactory},
};

}  // namespace

Result<std::shared_ptr<const FilterFactory>> createFilterFactory(
    const config::FilterConfig& config) {
  for (const Entry& entry : kFilters) {
    if (config.name == entry.name) return entry.build(config);
  }
  std::string known;
  for (const auto& name : knownFilterNames()) known += (known.empty() ? "" : ", ") + name;
  return Error{config.location, "unknown filter '" + config.name + "' (known: " + known + ")"};
}

std::vector<std::string> knownFilterNames() {
  std::vector<std::string> names;
  for (const Entry& entry : kFilters) names.emplace_back(entry.name);
  return names;
}

}  // namespace remora::filters

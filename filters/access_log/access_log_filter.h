// The `access_log` filter: one line per request, text or JSON, to stdout or a file.
#pragma once

#include <memory>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

Result<std::shared_ptr<const FilterFactory>> createAccessLogFilterFactory(
    const config::FilterConfig& config);

// The line the filter writes for `info` (newline included); exposed for tests.
std::string formatAccessLogLine(const StreamInfo& info, bool json);

}  // namespace remora::filters

// The `access_log` filter: one line per request, text or JSON, to stdout or a file, written by
// a thread of its own (filters/access_log/log_sink.h), never by the worker.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

Result<std::shared_ptr<const FilterFactory>> createAccessLogFilterFactory(
    const config::FilterConfig& config);

// The line the filter writes for `info` (newline included); exposed for tests.
std::string formatAccessLogLine(const StreamInfo& info, bool json);
// The same, appended to `out`.
void appendAccessLogLine(std::string& out, const StreamInfo& info, bool json);

}  // namespace remora::filters

// The `headers` filter: adds and removes request and response header fields.
#pragma once

#include <memory>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

Result<std::shared_ptr<const FilterFactory>> createHeadersFilterFactory(
    const config::FilterConfig& config);

}  // namespace remora::filters

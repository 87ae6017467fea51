// The `rate_limit` filter: a local token bucket on a listener or a route, for everyone or per key
// (a header's value, or the client's IP), exact across workers.
#pragma once

#include <memory>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

// {requests_per_second, burst, key: {header: NAME} | {source_ip: true}, max_keys, shadow}.
Result<std::shared_ptr<const FilterFactory>> createRateLimitFilterFactory(
    const config::FilterConfig& config);

}  // namespace remora::filters

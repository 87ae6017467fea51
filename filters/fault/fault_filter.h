// The `fault` filter: injected aborts (an HTTP status, or a gRPC status) and delays for a share
// of requests, on a listener or a route, to test how callers cope; with `headers: true`, trusted
// clients choose faults per request.
#pragma once

#include <memory>

#include "config/config.h"
#include "config/result.h"
#include "filters/filter.h"

namespace remora::filters {

// {abort: {status | grpc_status, percent}, delay: {duration, percent}, headers: false,
// max_active: 100}.
Result<std::shared_ptr<const FilterFactory>> createFaultFilterFactory(
    const config::FilterConfig& config);

}  // namespace remora::filters

// A route's weighted split: which of its targets a request goes to.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/route_table.h"

namespace remora::router {

// A target by weight (targets with weight 0 are never chosen), or -1 when none may be;
// `random` (uniform over 64 bits) is called only when there is a choice to make.
int pickTarget(const std::vector<RouteTarget>& targets, uint64_t (*random)());

}  // namespace remora::router

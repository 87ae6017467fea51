// How /clusters and /explain show an endpoint: one JSON shape for both.
#pragma once

#include <nlohmann/json.hpp>

#include "discovery/snapshot.h"

namespace remora::admin {

// One endpoint: address, weight, meta, health, ejection, whether it is `in_rotation` (a member of
// the subset being shown) and why, in a sentence that says so when the subset is in `panic`.
nlohmann::json endpointJson(const EndpointInfo& endpoint, bool in_rotation, bool panic);

}  // namespace remora::admin

// The effective config as JSON, every default filled in, for GET /config_dump.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "config/config.h"

namespace remora::config {

// Keys mirror the YAML ones; durations are duration strings, sizes are bytes. A listener
// written with `routes:` shows the virtual host it became.
nlohmann::json toJson(const Config& config);

// The `lb:` name of a policy, as written in the config.
std::string_view lbPolicyName(LbPolicy policy);

// A route's `match:`: the path rule (prefix, path or regex), headers and methods.
nlohmann::json routeMatchToJson(const RouteMatch& match);

}  // namespace remora::config

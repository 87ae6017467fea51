// The effective config as JSON, every default filled in, for GET /config_dump.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace remora::config {

// Keys mirror the YAML ones; durations are duration strings, sizes are bytes. A listener
// written with `routes:` shows the virtual host it became.
nlohmann::json toJson(const Config& config);

}  // namespace remora::config

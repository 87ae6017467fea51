// Reading and writing a config source's key once, for the command line (`remora validate
// --from-consul|--from-etcd`, `remora config push`): one call on a loop of its own, waited for.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"

namespace remora::discovery::config_source {

// The value of `source`'s key through `registry`; nullopt with `error` when it could not be read
// or does not exist.
std::optional<std::string> readKey(const config::Registry& registry,
                                   const config::ConfigSource& source, std::string& error);

// Writes `value` to `source`'s key; false with `error` when the registry did not take it.
bool writeKey(const config::Registry& registry, const config::ConfigSource& source,
              const std::string& value, std::string& error);

}  // namespace remora::discovery::config_source

// Reads `config_source:`: the registry key the listeners, clusters and canaries come from.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// `{consul: {key} | etcd: {key}, cache: PATH}`; nullopt (with the errors reported) when bad.
std::optional<ConfigSource> readConfigSource(YamlReader& reader, const Located& at);

// The registry the source's store needs is the one configured: its address, token and TLS are
// the source's too.
void checkConfigSource(YamlReader& reader, const Config& config);

}  // namespace remora::config

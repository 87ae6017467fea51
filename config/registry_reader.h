// Reads the `registry:` block: exactly one of consul, etcd, dns or file.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Records the provider even when its settings are bad, so that clusters naming a `service:` are
// not reported as lacking a registry too.
void readRegistry(YamlReader& reader, const Located& at, Registry& out);

}  // namespace remora::config

// Reads the `admin:` block: the full admin's address and the optional read-only probe listener's.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// {address, probe_address}; written keys replace the defaults in `out`.
void readAdmin(YamlReader& reader, const Located& at, Admin& out);

}  // namespace remora::config

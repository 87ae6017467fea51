// Reads the `tls:` blocks of listeners ({cert, key, ca}) and clusters ({ca, cert, key, sni}).
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// `field` is the `tls:` entry; the result's location is its key, so that problems found later
// with the files themselves point there too.
std::optional<TlsServer> readTlsServer(YamlReader& reader, const Field& field);
std::optional<TlsClient> readTlsClient(YamlReader& reader, const Field& field);

}  // namespace remora::config

// Reads a route's `mirror:` block: the shadow cluster and subset, its share, comparison, and
// limits.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// {cluster, subset, percent, compare: true | false | {body: true}, max_body_bytes,
// max_concurrent, timeout}; the cluster is added to `cluster_refs` for the loader to check.
std::optional<Mirror> readMirror(YamlReader& reader, const Located& at, References& cluster_refs);

// A canary's `shadow:`: `true`, or {percent, compare, max_body_bytes, max_concurrent, timeout};
// the caller sets the cluster and subset (the canary's).
std::optional<Mirror> readCanaryShadow(YamlReader& reader, const Located& at);

}  // namespace remora::config

// Reads a route's `hash:`: where a request's key for ring_hash and maglev comes from.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// [{header: NAME} | {cookie: NAME | {name, ttl}} | {source_ip: true} | {query: NAME}, ...].
void readHashPolicies(YamlReader& reader, const Located& at, std::vector<HashPolicy>& out);

}  // namespace remora::config

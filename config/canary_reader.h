// Reading `canaries:` and checking what each names (its route, its cluster) once the whole file
// is read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

void readCanaries(YamlReader& reader, const Located& at, std::vector<Canary>& out);

// Where a canary's route is: listener, virtual host and route indices in the config.
struct RoutePlace {
  size_t listener = 0;
  size_t virtual_host = 0;
  size_t route = 0;
};

// Finds `ref` ("listener/virtual_host/index", "listener/index" for a listener with `routes:`, or
// a route's `name`); nullopt with `why` set when it names no route or more than one.
std::optional<RoutePlace> findRoute(const Config& config, const std::string& ref, std::string& why);

// Each canary's route exists, sends to the canary's cluster, and has no other canary.
void checkCanaries(YamlReader& reader, const Config& config);

}  // namespace remora::config

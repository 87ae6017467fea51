// Reading a static endpoint ("host:port" or {address, weight, meta}) from YAML.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// Endpoint weights are relative; the cap keeps sums of many endpoints far from overflow.
inline constexpr uint32_t kMaxEndpointWeight = 1'000'000;

// `known` lists the keys a mapping may have: address, weight and meta are read here, any others
// by the caller from `fields`, which holds the mapping when the endpoint was written as one.
std::optional<Endpoint> readEndpoint(YamlReader& reader, const Located& at,
                                     std::initializer_list<std::string_view> known,
                                     std::optional<Fields>& fields);

}  // namespace remora::config

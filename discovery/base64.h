// Standard base64 (RFC 4648), as registries carry KV values: etcd's gateway and Consul's KV API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace remora::discovery {

std::string base64Encode(std::string_view data);
// nullopt for anything that is not canonical base64 (bad characters, length, padding, or bits
// set past the last byte).
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace remora::discovery

// "host:port" addresses in config files, IPv6 literals in brackets.
#pragma once

#include <string_view>

#include "config/config.h"
#include "config/result.h"

namespace remora::config {

// "host:port" or "[ipv6]:port"; the host is an IPv4/IPv6 literal or a DNS name, the port
// 0..65535 (0 lets the kernel choose, which tests rely on). Errors carry no location.
Result<Address> parseAddress(std::string_view text);

// Whether only this host can reach an address: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), or
// the name "localhost".
bool isLoopback(const Address& address);

}  // namespace remora::config

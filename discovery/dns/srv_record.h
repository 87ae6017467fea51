// SrvRecord: one SRV answer record together with the addresses its target resolved to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace remora::discovery::dns {

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // no trailing dot; "." means the service is decidedly unavailable
  // The target's IPv4/IPv6 addresses as text. Empty when the target is "." or does not resolve.
  std::vector<std::string> addresses;
};

}  // namespace remora::discovery::dns

// Listening sockets: one per worker per listener, sharing the port through SO_REUSEPORT.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace remora {

// Opens `count` listening sockets on `address`; with port 0 the first picks a port and the
// others bind to it. Returns the descriptors and sets `bound` to "host:port" as bound.
bool openListenSockets(const config::Address& address, size_t count, std::vector<int>& fds,
                       std::string& bound, std::string& error);

// "host:port" (IPv6 as "[host]:port") of an IPv4 or IPv6 socket address.
std::string socketAddressText(const sockaddr* address);

// "host:port" of a bound socket.
std::string localAddressText(int fd);

}  // namespace remora

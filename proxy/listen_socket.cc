// SO_REUSEPORT listening socket creation.
#include "proxy/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace remora {

namespace {

int openOne(const sockaddr* address, socklen_t length, std::string& error) {
  int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (address->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, address, length) != 0 || listen(fd, 4096) != 0) {
    error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string socketAddressText(const sockaddr* address) {
  char ip[INET6_ADDRSTRLEN] = "?";
  std::string text;
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "[" + std::string(ip).
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    text.append("[").append(ip).append("]:").append(std::to_string(ntohs(in6->sin6_port)));
  } else if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    text.append(ip).append(":").append(std::to_string(ntohs(in->sin_port)));
  } else {
    text = "unknown";
  }
  return text;
}

std::string localAddressText(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  return socketAddressText(reinterpret_cast<const sockaddr*>(&address));
}

bool openListenSockets(const config::Address& address, size_t count, std::vector<int>& fds,
                       std::string& bound, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(address.port);
  const char* host = address.host.empty() || address.host == "*" ? nullptr : address.host.c_str();
  int rc = getaddrinfo(host, port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    error = std::string("cannot resolve ") + address.text() + ": " + gai_strerror(rc);
    return false;
  }
  sockaddr_storage storage{};
  std::memcpy(&storage, result->ai_addr, result->ai_addrlen);
  const socklen_t length = result->ai_addrlen;
  freeaddrinfo(result);
  for (size_t i = 0; i < count; ++i) {
    int fd = openOne(reinterpret_cast<sockaddr*>(&storage), length, error);
    if (fd < 0) {
      error = "cannot listen on " + address.text() + ": " + error;
      for (int open : fds) close(open);
      fds.clear();
      return false;
    }
    if (i == 0) {
      // Port 0: the others must share the port the kernel gave the first.
      sockaddr_storage actual{};
      socklen_t actual_length = sizeof(actual);
      getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actual_length);
      if (storage.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&storage)->sin_port =
            reinterpret_cast<sockaddr_in*>(&actual)->sin_port;
      } else {
        reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port =
            reinterpret_cast<sockaddr_in6*>(&actual)->sin6_port;
      }
      bound = localAddressText(fd);
    }
    fds.push_back(fd);
  }
  return true;
}

}  // namespace remora

// A minimal blocking HTTP/1.0 probe of the admin /ready path, with a deadline.
#include "proxy/await_ready.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "config/address.h"
#include "discovery/snapshot_builder.h"

namespace remora {

namespace {

using Clock = std::chrono::steady_clock;

// One GET /ready; the status code, or 0 with `error` set.
int probe(const sockaddr_storage& address, socklen_t length, Clock::time_point deadline,
          std::string& error) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return 0;
  }
  auto wait = [&](short events) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return poll(&p, 1, static_cast<int>(left)) == 1;
  };
  std::string response;
  int status = 0;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 &&
      errno != EINPROGRESS) {
    error = std::strerror(errno);
  } else if (!wait(POLLOUT)) {
    error = "connect timed out";
  } else {
    static constexpr char kRequest[] = "GET /ready HTTP/1.0\r\nHost: remora\r\n\r\n";
    if (send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) < 0) {
      error = std::strerror(errno);
    } else {
      char buffer[512];
      while (response.find("\r\n") == std::string::npos && wait(POLLIN)) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        response.append(buffer, static_cast<size_t>(n));
      }
      if (response.size() >= 12 && response.starts_with("HTTP/1.")) {
        status = std::atoi(response.c_str() + 9);
      } else {
        error = response.empty() ? "no answer" : "not an HTTP answer";
      }
    }
  }
  close(fd);
  return status;
}

}  // namespace

int awaitReady(const std::string& admin, std::chrono::milliseconds timeout) {
  auto parsed = config::parseAddress(admin);
  if (!parsed) {
    std::fprintf(stderr, "remora await: bad admin address '%s': %s\n", admin.c_str(),
                 parsed.errors()[0].message.c_str());
    return 2;
  }
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string error;
  if (!discovery::resolveAddress(*parsed, address, length, error)) {
    std::fprintf(stderr, "remora await: cannot resolve '%s': %s\n", admin.c_str(), error.c_str());
    return 2;
  }
  const auto deadline = Clock::now() + timeout;
  std::string last = "no attempt";
  while (true) {
    error.clear();
    const int status = probe(address, length, deadline, error);
    if (status == 200) return 0;
    last = status != 0 ? "/ready answered " + std::to_string(status) : error;
    const auto now = Clock::now();
    if (now >= deadline) break;
    // Polling interval between probes: the admin listener has no push channel to wait on.
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(100), deadline - now));
    if (Clock::now() >= deadline) break;
  }
  std::fprintf(stderr, "remora await: %s not ready after %lldms (%s)\n", admin.c_str(),
               static_cast<long long>(timeout.count()), last.c_str());
  return 1;
}

}  // namespace remora

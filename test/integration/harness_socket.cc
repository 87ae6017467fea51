// Socket: non-blocking reads and writes bounded by poll(2) deadlines; freePort() and
// RefusingPort.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "integration/harness/socket.h"

namespace remora::harness {
namespace {

void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Waits for `events` on fd; false at the deadline.
bool waitFor(int fd, short events, Deadline deadline) {
  while (true) {
    pollfd pfd{fd, events, 0};
    int rc = ::poll(&pfd, 1, msLeft(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the read or write report the error
  }
}

}  // namespace

Socket::Socket(int fd) : fd_(fd) {
  if (fd_ < 0) return;
  setNonBlocking(fd_);
  int one = 1;
  // Tests send small pieces whose timing matters (partial heads, one chunk then a pause).
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Socket::~Socket() { close(); }

Socket::Socket(Socket&& other) noexcept
    : fd_(other.fd_),
      buffer_(std::move(other.buffer_)),
      status_(other.status_),
      error_(std::move(other.error_)) {
  other.fd_ = -1;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    status_ = other.status_;
    error_ = std::move(other.error_);
    other.fd_ = -1;
  }
  return *this;
}

Socket Socket::connectTo(uint16_t port, Deadline deadline, const std::string& host) {
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.valid()) {
    socket.error_ = std::string("socket: ") + std::strerror(errno);
    return socket;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    Socket invalid;
    invalid.error_ = "not an IPv4 address: " + host;
    return invalid;
  }
  int rc = ::connect(socket.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno == EINPROGRESS) {
    if (!waitFor(socket.fd_, POLLOUT, deadline)) {
      Socket invalid;
      invalid.status_ = IoStatus::Timeout;
      invalid.error_ = "connect to port " + std::to_string(port) + " timed out";
      return invalid;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(socket.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    Socket invalid;
    invalid.status_ = IoStatus::Error;
    invalid.error_ = "connect to port " + std::to_string(port) + ": " + std::strerror(errno);
    return invalid;
  }
  return socket;
}

bool Socket::sendAll(std::string_view data, Deadline deadline) {
  if (!valid()) {
    status_ = IoStatus::Error;
    error_ = "send on a closed socket";
    return false;
  }
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waitFor(fd_, POLLOUT, deadline)) {
        status_ = IoStatus::Timeout;
        error_ = "send timed out";
        return false;
      }
      continue;
    }
    status_ = IoStatus::Error;
    error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  status_ = IoStatus::Ok;
  return true;
}

IoStatus Socket::fill(Deadline deadline) {
  if (!valid()) {
    error_ = "read on a closed socket";
    return status_ = IoStatus::Error;
  }
  char chunk[16384];
  while (true) {
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return status_ = IoStatus::Ok;
    }
    if (n == 0) {
      error_ = "connection closed by peer";
      return status_ = IoStatus::Eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitFor(fd_, POLLIN, deadline)) {
        error_ = "read timed out";
        return status_ = IoStatus::Timeout;
      }
      continue;
    }
    error_ = std::string("read: ") + std::strerror(errno);
    return status_ = IoStatus::Error;
  }
}

std::optional<std::string> Socket::readUntil(std::string_view delim, Deadline deadline) {
  size_t searched = 0;
  while (true) {
    size_t pos = buffer_.find(delim, searched);
    if (pos != std::string::npos) {
      std::string out = buffer_.substr(0, pos + delim.size());
      buffer_.erase(0, pos + delim.size());
      status_ = IoStatus::Ok;
      return out;
    }
    searched = buffer_.size() >= delim.size() ? buffer_.size() - delim.size() + 1 : 0;
    if (fill(deadline) != IoStatus::Ok) return std::nullopt;
  }
}

std::optional<std::string> Socket::readExactly(size_t n, Deadline deadline) {
  while (buffer_.size() < n) {
    if (fill(deadline) != IoStatus::Ok) return std::nullopt;
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  status_ = IoStatus::Ok;
  return out;
}

std::string Socket::readSome(Deadline deadline) {
  if (buffer_.empty() && fill(deadline) != IoStatus::Ok) return {};
  status_ = IoStatus::Ok;
  return std::exchange(buffer_, {});
}

std::string Socket::readToEof(Deadline deadline) {
  while (fill(deadline) == IoStatus::Ok) {
  }
  return std::exchange(buffer_, {});
}

bool Socket::waitClosed(Deadline deadline) {
  while (true) {
    IoStatus status = fill(deadline);
    buffer_.clear();
    if (status == IoStatus::Eof || status == IoStatus::Error) return true;
    if (status == IoStatus::Timeout) return false;
  }
}

void Socket::shutdownWrite() {
  if (valid()) ::shutdown(fd_, SHUT_WR);
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// A TCP socket bound to 127.0.0.1 on a port the kernel chose, not listening.
int boundLoopbackSocket(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(err));
  }
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

uint16_t freePort() {
  uint16_t port = 0;
  ::close(boundLoopbackSocket(port));
  return port;
}

RefusingPort::RefusingPort() : fd_(boundLoopbackSocket(port_)) {}

RefusingPort::~RefusingPort() { ::close(fd_); }

}  // namespace remora::harness

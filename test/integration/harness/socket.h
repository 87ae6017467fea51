// A buffered TCP socket with a deadline on every operation, for test clients and upstreams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "integration/harness/wait.h"

namespace remora::harness {

enum class IoStatus { Ok, Eof, Timeout, Error };

// Owns a non-blocking fd. Reads go through an internal buffer, so a caller can read a head with
// readUntil() and then the body with readExactly() without losing bytes read ahead. Not
// thread-safe: one thread uses a Socket at a time.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd);  // takes ownership
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;

  // Connects to host:port (an IPv4 literal). Invalid socket and error() set on failure.
  static Socket connectTo(uint16_t port, Deadline deadline, const std::string& host = "127.0.0.1");

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool sendAll(std::string_view data, Deadline deadline);

  // Everything up to and including `delim`; nullopt on EOF, error or deadline first.
  std::optional<std::string> readUntil(std::string_view delim, Deadline deadline);
  std::optional<std::string> readExactly(size_t n, Deadline deadline);
  // Whatever is buffered, or else the next bytes to arrive; "" on EOF, error or deadline.
  std::string readSome(Deadline deadline);
  // Everything until the peer closes; status() tells whether it did (Eof) or the deadline came.
  std::string readToEof(Deadline deadline);
  // Discards what arrives until the peer closes or resets the connection (true) or the deadline.
  bool waitClosed(Deadline deadline);

  void shutdownWrite();
  void close();

  IoStatus status() const { return status_; }  // of the last read or write
  const std::string& error() const { return error_; }

 private:
  IoStatus fill(Deadline deadline);  // one read(2) appending to buffer_

  int fd_ = -1;
  std::string buffer_;
  IoStatus status_ = IoStatus::Ok;
  std::string error_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot bind port 0).
uint16_t freePort();

// A port on 127.0.0.1 where nothing listens, held for the object's lifetime: connecting is
// refused, and no other process can take the port meanwhile (as it could a freePort()). The
// "dead endpoint" of tests.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace remora::harness

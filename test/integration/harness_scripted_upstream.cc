// ScriptedUpstream: an accept thread plus one thread per connection running the test's script.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "integration/harness/scripted_upstream.h"

namespace remora::harness {

std::optional<HttpRequest> UpstreamConnection::readRequest(Deadline deadline) {
  std::optional<HttpRequest> request = harness::readRequestHead(socket_, deadline, &error_);
  if (!request || !readRequestBody(socket_, *request, deadline, &error_)) return std::nullopt;
  upstream_.record(*request);
  return request;
}

std::optional<HttpRequest> UpstreamConnection::readRequestHead(Deadline deadline) {
  std::optional<HttpRequest> request = harness::readRequestHead(socket_, deadline, &error_);
  if (request) upstream_.record(*request);
  return request;
}

std::optional<std::string> UpstreamConnection::readChunk(Deadline deadline) {
  return harness::readChunk(socket_, deadline, &error_);
}

bool UpstreamConnection::send(std::string_view bytes, Deadline deadline) {
  bool sent = socket_.sendAll(bytes, deadline);
  if (!sent) error_ = socket_.error();
  return sent;
}

bool UpstreamConnection::respond(int status, std::string_view body, const HeaderList& headers) {
  return send(formatResponse(status, body, headers));
}

bool UpstreamConnection::waitClosed(Deadline deadline) { return socket_.waitClosed(deadline); }

void UpstreamConnection::close() {
  if (!socket_.valid()) return;
  upstream_.forget(socket_.fd());
  socket_.close();
}

ScriptedUpstream::ScriptedUpstream(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    std::string error = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("ScriptedUpstream: cannot listen: " + error);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

ScriptedUpstream::~ScriptedUpstream() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : live_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  char byte = 0;
  (void)!::write(stop_pipe_[1], &byte, 1);
  acceptor_.join();
  // No new workers start once the acceptor is gone; join the ones that ran.
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string ScriptedUpstream::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::vector<HttpRequest> ScriptedUpstream::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t ScriptedUpstream::requestCount() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void ScriptedUpstream::record(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  requests_.push_back(request);
}

void ScriptedUpstream::acceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    live_fds_.insert(fd);
    size_t index = connections_++;
    workers_.emplace_back([this, fd, index] { serve(Socket(fd), index); });
  }
}

void ScriptedUpstream::serve(Socket socket, size_t index) {
  UpstreamConnection connection(*this, std::move(socket), index);
  try {
    handler_(connection);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "ScriptedUpstream handler threw: " << e.what();
  }
  connection.close();
}

void ScriptedUpstream::forget(int fd) {
  // Before the fd closes, so the destructor never shuts down a number reused meanwhile.
  std::lock_guard lock(mutex_);
  live_fds_.erase(fd);
}

ScriptedUpstream::Handler ScriptedUpstream::respondWith(int status, std::string body,
                                                        HeaderList headers) {
  return [status, body = std::move(body), headers = std::move(headers)](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(std::chrono::seconds(30)))) {
      if (!c.respond(status, body, headers)) return;
    }
  };
}

ScriptedUpstream::Handler ScriptedUpstream::respondAfter(std::chrono::milliseconds delay,
                                                         int status, std::string body) {
  return [delay, status, body = std::move(body)](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(std::chrono::seconds(30)))) {
      // The upstream's own latency: what a latency-aware balancer measures.
      std::this_thread::sleep_for(delay);
      if (!c.respond(status, body)) return;
    }
  };
}

ScriptedUpstream::Handler ScriptedUpstream::echo() {
  return [](UpstreamConnection& c) {
    while (std::optional<HttpRequest> request =
               c.readRequest(deadlineIn(std::chrono::seconds(30)))) {
      if (!c.respond(200, request->method + " " + request->target + "\n" + request->body)) return;
    }
  };
}

ScriptedUpstream::Handler ScriptedUpstream::named(std::string name,
                                                  const std::atomic<int>& health) {
  return [name, &health](UpstreamConnection& c) {
    while (std::optional<HttpRequest> request =
               c.readRequest(deadlineIn(std::chrono::seconds(30)))) {
      const bool answered =
          request->target == "/health" ? c.respond(health.load(), "health") : c.respond(200, name);
      if (!answered) return;
    }
  };
}

}  // namespace remora::harness

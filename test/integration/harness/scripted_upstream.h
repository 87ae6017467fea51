// ScriptedUpstream: a raw-socket server whose every connection runs a test-written script, for
// upstream behaviour nginx cannot show (never answering, garbage, closing mid-body, upgrades).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "integration/harness/http.h"
#include "integration/harness/socket.h"
#include "integration/harness/wait.h"

namespace remora::harness {

class ScriptedUpstream;

// One accepted connection, handed to the script. Requests read through it are recorded in the
// upstream's requests().
class UpstreamConnection {
 public:
  UpstreamConnection(ScriptedUpstream& upstream, Socket socket, size_t index)
      : upstream_(upstream), socket_(std::move(socket)), index_(index) {}

  size_t index() const { return index_; }  // 0 for the first connection accepted, and so on
  Socket& socket() { return socket_; }

  // A whole request (body de-chunked); nullopt when the peer closed or the deadline came first.
  std::optional<HttpRequest> readRequest(Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  // Just the head (recorded with an empty body); read the body with readChunk() or socket().
  std::optional<HttpRequest> readRequestHead(
      Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  std::optional<std::string> readChunk(Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  bool send(std::string_view bytes, Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  bool respond(int status, std::string_view body = {}, const HeaderList& headers = {});
  // Waits for the peer to close (true) or the deadline; the upstream's destruction closes it too.
  bool waitClosed(Deadline deadline = deadlineIn(std::chrono::seconds(10)));
  void close();
  const std::string& error() const { return error_; }

 private:
  ScriptedUpstream& upstream_;
  Socket socket_;
  size_t index_;
  std::string error_;
};

// Listens on 127.0.0.1:0; each accepted connection runs `handler` on its own thread, and is
// closed when the handler returns. Destruction stops accepting, shuts down live connections (so
// a handler blocked in a read wakes up) and joins every thread.
class ScriptedUpstream {
 public:
  using Handler = std::function<void(UpstreamConnection&)>;

  explicit ScriptedUpstream(Handler handler);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:port"
  size_t connectionCount() const { return connections_.load(); }
  std::vector<HttpRequest> requests() const;
  size_t requestCount() const;

  // Scripts for common upstreams. Both serve every request of a keep-alive connection.
  static Handler respondWith(int status, std::string body, HeaderList headers = {});
  // The same, each answer `delay` after its request.
  static Handler respondAfter(std::chrono::milliseconds delay, int status, std::string body);
  // 200 with body "METHOD TARGET\n" followed by the request body.
  static Handler echo();
  // `name` on every path but /health, which answers with the status `health` holds then.
  static Handler named(std::string name, const std::atomic<int>& health);

 private:
  friend class UpstreamConnection;
  void acceptLoop();
  void serve(Socket socket, size_t index);
  void record(const HttpRequest& request);
  void forget(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<size_t> connections_{0};
  std::thread acceptor_;

  mutable std::mutex mutex_;  // guards the members below
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::set<int> live_fds_;  // shut down on destruction; removed before their fd closes
  std::vector<HttpRequest> requests_;
};

}  // namespace remora::harness

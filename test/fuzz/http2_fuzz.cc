// libFuzzer target for the downstream codecs as a client reaches them: arbitrary bytes (after
// the HTTP/2 preface when the first byte is odd) go through a real worker's socket, protocol
// detection, the HTTP/2 (nghttp2) or HTTP/1 codec, streams, a direct response and a dead upstream
// with a retry. Crashes, sanitizer reports and leaks are the findings.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "discovery/snapshot_builder.h"
#include "proxy/log.h"
#include "proxy/pool/circuit_breaker.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace remora {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Small limits, so short inputs reach them.
constexpr char kConfig[] = R"(workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    max_request_headers_count: 16
    max_request_headers_bytes: 4096
    http2: {max_concurrent_streams: 8, initial_stream_window_size: 65535}
    routes:
      - match: {prefix: /up}
        cluster: dead
        retry: {attempts: 1, on: [connect-failure], backoff: {base: 1ms}}
      - match: {prefix: /}
        direct_response: {status: 200, body: "fuzz\n"}
clusters:
  - name: dead
    endpoints: ["127.0.0.1:1"]
    connect_timeout: 50ms
)";
// How long one input may keep the worker busy; the rest is cut off by closing everything.
constexpr auto kInputBudget = std::chrono::milliseconds(100);

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "http2_fuzz setup: %s\n", what);
    std::abort();
  }
}

// One worker, driven on the fuzzer's thread, listening on a Unix socket (no ports to run out of).
class Harness {
 public:
  Harness() : stats_(1), worker_(0, stats_.worker(0), breakers_) {
    log::setLevel(log::Level::Error);
    auto config = config::loadConfigString(kConfig, "fuzz.yaml");
    check(config.ok(), "config");
    auto loaded = discovery::prepareConfig(*config);
    check(loaded.ok(), "prepare");
    worker_.setSnapshot(
        discovery::buildSnapshot(*loaded, discovery::RegistryView{}, nullptr, nullptr, 1));
    path_ = "/tmp/remora-http2-fuzz-" + std::to_string(getpid()) + ".sock";
    unlink(path_.c_str());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    check(fd >= 0, "socket");
    sockaddr_un address = unixAddress();
    check(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "bind");
    check(listen(fd, 64) == 0, "listen");
    auto shared = std::make_shared<ListenerShared>();
    shared->name = "edge";
    shared->max_connections = 1000;
    worker_.addListener(shared, fd);
  }
  ~Harness() { unlink(path_.c_str()); }

  void run(std::string_view input) {
    const int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(client >= 0, "client socket");
    sockaddr_un address = unixAddress();
    check(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "connect");
    fcntl(client, F_SETFL, O_NONBLOCK);
    size_t sent = 0;
    bool peer_closed = false;
    const Clock::time_point deadline = Clock::now() + kInputBudget;
    while (!peer_closed && Clock::now() < deadline) {
      if (sent < input.size()) {
        const ssize_t n = send(client, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) sent = input.size();  // remora closed: nothing more to send
        if (sent == input.size()) shutdown(client, SHUT_WR);
      }
      event_base_loop(worker_.base(), EVLOOP_NONBLOCK);
      peer_closed = drain(client);
      if (!peer_closed) {
        pollfd readable{client, POLLIN, 0};
        poll(&readable, 1, 1);
      }
    }
    close(client);
    // What the input left open (a stream waiting for a timeout) goes now, so inputs do not pile up.
    for (int i = 0; i < 4; ++i) event_base_loop(worker_.base(), EVLOOP_NONBLOCK);
    worker_.closeAll();
    for (int i = 0; i < 4; ++i) event_base_loop(worker_.base(), EVLOOP_NONBLOCK);
  }

 private:
  sockaddr_un unixAddress() const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
    return address;
  }

  // Reads and drops what remora wrote; true once it closed the connection.
  static bool drain(int client) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = recv(client, buffer, sizeof(buffer), 0);
      if (n > 0) continue;
      return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
    }
  }

  stats::Registry stats_;
  CircuitBreakers breakers_;  // the limits workers share; one worker here
  Worker worker_;
  std::string path_;
};

}  // namespace
}  // namespace remora

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static remora::Harness harness;
  if (size == 0) return 0;
  std::string input;
  if ((data[0] & 1) != 0) input = remora::kPreface;
  input.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  harness.run(input);
  return 0;
}

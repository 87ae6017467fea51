// remora's limits and timeouts: listener idle_timeout and max_connections, cluster
// connect_timeout, idle_timeout and max_idle_connections, drain_timeout and drain_delay, identical
// reloads, and the admin /quitquitquit and /drain paths.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds msSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// How many times `needle` occurs in `text`.
size_t occurrences(const std::string& text, std::string_view needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// A listener on 127.0.0.1 with backlog 0 whose accept queue is full of connections nobody
// accepts: Linux then drops further SYNs, so a connect to it neither succeeds nor fails until the
// client gives up. Nothing here leaves the loopback interface.
class UnacceptingListener {
 public:
  UnacceptingListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 0) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "UnacceptingListener: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    // Connect until a connect hangs: from then on the queue is full and SYNs are dropped.
    for (int i = 0; i < 16; ++i) {
      Socket socket = Socket::connectTo(port_, deadlineIn(200ms));
      if (!socket.valid()) {
        full_ = socket.status() == IoStatus::Timeout;
        return;
      }
      queued_.push_back(std::move(socket));
    }
  }
  ~UnacceptingListener() {
    if (fd_ >= 0) ::close(fd_);
  }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool full() const { return full_; }  // a connect hung: the listener swallows SYNs

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  bool full_ = false;
  std::vector<Socket> queued_;
};

// --- Listener limits ---

constexpr char kListenerConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    idle_timeout: 300ms
    max_connections: 2
    routes:
      - match: {prefix: /slow}
        cluster: slow
      - match: {prefix: /}
        direct_response: {status: 200, body: hello}
clusters:
  - name: slow
    endpoints: ["{{slow}}"]
)";

class ListenerLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(remora_.start(render(kListenerConfig, {{"slow", slow_.address()}})));
    port_ = remora_.port("edge");
  }

  // Answers after 600 ms of silence, then streams four chunks 150 ms apart: the client
  // connection sees no traffic for longer than the idle timeout, several times over.
  ScriptedUpstream slow_{[](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(10s))) {
      std::this_thread::sleep_for(600ms);
      if (!c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
      for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(150ms);
        if (!c.send(formatChunk("part" + std::to_string(i) + ";"))) return;
      }
      if (!c.send(formatChunk(""))) return;
    }
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(ListenerLimits, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpClient client(port_);
  HttpResponse r = client.request("GET", "/");
  ASSERT_EQ(r.status, 200) << r;
  auto idle_since = Clock::now();
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s))) << "idle connection still open after 3 s";
  auto waited = msSince(idle_since);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  std::cout << "[ measure  ] idle keep-alive connection closed after " << waited.count() << " ms\n";
}

TEST_F(ListenerLimits, IdleTimeoutDoesNotCutASlowResponse) {
  HttpClient client(port_);
  auto before = Clock::now();
  HttpResponse r = client.request("GET", "/slow", {}, {}, deadlineIn(5s));
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_TRUE(r.ok()) << r;
  EXPECT_EQ(r.body, "part0;part1;part2;part3;");
  EXPECT_GE(msSince(before), 1000ms);
  // Once the response is over the connection is idle again, and the timer applies once more.
  auto idle_since = Clock::now();
  EXPECT_TRUE(client.waitClosed(deadlineIn(3s)));
  EXPECT_LT(msSince(idle_since), 2s);
}

TEST_F(ListenerLimits, MaxConnectionsClosesTheExtraConnectionAtOnce) {
  HttpClient first(port_);
  HttpClient second(port_);
  // Both are accepted and served before the third arrives.
  EXPECT_EQ(first.request("GET", "/").status, 200);
  EXPECT_EQ(second.request("GET", "/").status, 200);

  HttpClient third(port_);
  ASSERT_TRUE(third.connected()) << third.error();  // the kernel completes the handshake
  auto before = Clock::now();
  EXPECT_TRUE(third.waitClosed(deadlineIn(2s))) << "the third connection was kept open";
  EXPECT_LT(msSince(before), 500ms);

  // The two kept connections are unaffected.
  EXPECT_EQ(first.request("GET", "/").status, 200);

  first.close();
  // Once remora has noticed the close, a new connection is served again.
  HttpResponse r;
  EXPECT_TRUE(waitUntil(
      [&] {
        r = httpGet(port_, "/", {}, deadlineIn(1s));
        return r.status == 200;
      },
      deadlineIn(2s)))
      << r;
  EXPECT_EQ(second.request("GET", "/").status, 200);
}

// --- Cluster limits ---

constexpr char kClusterConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /blackhole}
        cluster: blackhole
      - match: {prefix: /short-idle}
        cluster: short_idle
      - match: {prefix: /one-idle}
        cluster: one_idle
clusters:
  - name: blackhole
    endpoints: ["{{blackhole}}"]
    connect_timeout: 300ms
  - name: short_idle
    endpoints: ["{{short_idle}}"]
    idle_timeout: 300ms
  - name: one_idle
    endpoints: ["{{one_idle}}"]
    max_idle_connections: 1
)";

// Serves every request of a connection with `respond`, then counts the connection as closed by
// remora (readRequest fails at EOF) and notes when.
class ClosingTracker {
 public:
  void onClosed() {
    closed_at_.store(Clock::now().time_since_epoch().count());
    ++closed_;
  }
  size_t closed() const { return closed_.load(); }
  Clock::time_point closedAt() const {
    return Clock::time_point(Clock::duration(closed_at_.load()));
  }

 private:
  std::atomic<size_t> closed_{0};
  std::atomic<Clock::rep> closed_at_{0};
};

class ClusterLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(blackhole_.full())
        << "could not make a listener that never completes a handshake on 127.0.0.1";
    ASSERT_TRUE(remora_.start(render(kClusterConfig, {{"blackhole", blackhole_.address()},
                                                      {"short_idle", short_idle_.address()},
                                                      {"one_idle", one_idle_.address()}})));
    port_ = remora_.port("edge");
  }

  UnacceptingListener blackhole_;
  ClosingTracker short_idle_closes_;
  ScriptedUpstream short_idle_{[this](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(10s))) {
      if (!c.respond(200, "ok")) return;
    }
    short_idle_closes_.onClosed();
  }};
  // Holds every request until three are waiting, so remora needs three connections.
  std::atomic<size_t> one_idle_arrived_{0};
  Event one_idle_release_;
  ClosingTracker one_idle_closes_;
  ScriptedUpstream one_idle_{[this](UpstreamConnection& c) {
    while (c.readRequest(deadlineIn(10s))) {
      if (++one_idle_arrived_ == 3) one_idle_release_.set();
      one_idle_release_.wait(deadlineIn(5s));
      if (!c.respond(200, "ok")) return;
    }
    one_idle_closes_.onClosed();
  }};
  Remora remora_;
  uint16_t port_ = 0;
};

TEST_F(ClusterLimits, ConnectTimeoutIs502) {
  auto before = Clock::now();
  HttpResponse r = httpGet(port_, "/blackhole", {}, deadlineIn(5s));
  auto waited = msSince(before);
  EXPECT_EQ(r.status, 502) << r;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  std::cout << "[ measure  ] 502 for a hanging connect after " << waited.count() << " ms\n";
}

TEST_F(ClusterLimits, IdlePooledConnectionIsClosedAfterIdleTimeout) {
  HttpResponse r = httpGet(port_, "/short-idle");
  ASSERT_EQ(r.status, 200) << r;
  auto idle_since = Clock::now();
  EXPECT_TRUE(waitUntil([&] { return short_idle_closes_.closed() == 1; }, deadlineIn(3s)))
      << "the pooled upstream connection is still open after 3 s";
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      short_idle_closes_.closedAt() - idle_since);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  EXPECT_EQ(short_idle_.connectionCount(), 1u);
  std::cout << "[ measure  ] idle pooled upstream connection closed after " << waited.count()
            << " ms\n";
  // The next request opens a fresh connection.
  EXPECT_EQ(httpGet(port_, "/short-idle").status, 200);
  EXPECT_EQ(short_idle_.connectionCount(), 2u);
}

TEST_F(ClusterLimits, MaxIdleConnectionsKeepsOnlyOne) {
  HttpClient clients[3];
  for (HttpClient& client : clients) {
    ASSERT_TRUE(client.connect(port_)) << client.error();
    ASSERT_TRUE(client.send(formatRequest("GET", "/one-idle"))) << client.error();
  }
  for (HttpClient& client : clients) {
    HttpResponse r = client.readResponse();
    EXPECT_EQ(r.status, 200) << r;
  }
  EXPECT_EQ(one_idle_.connectionCount(), 3u);
  EXPECT_TRUE(waitUntil([&] { return one_idle_closes_.closed() == 2; }, deadlineIn(2s)))
      << one_idle_closes_.closed() << " of the 3 upstream connections closed";
  // The one kept is reused: the next request opens nothing new and closes nothing.
  EXPECT_EQ(clients[0].request("GET", "/one-idle").status, 200);
  EXPECT_EQ(one_idle_.connectionCount(), 3u);
  EXPECT_EQ(one_idle_closes_.closed(), 2u);
}

// --- Drain ---

TEST(DrainLimits, DrainTimeoutEndsARequestThatNeverCompletes) {
  Event request_arrived;
  ScriptedUpstream silent([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    request_arrived.set();
    c.waitClosed(deadlineIn(30s));  // never answers
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
lifecycle: {drain_timeout: 300ms}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: silent
clusters:
  - name: silent
    endpoints: ["{{silent}}"]
)",
                                  {{"silent", silent.address()}})));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("GET", "/forever")));
  ASSERT_TRUE(request_arrived.wait(deadlineIn(2s)));

  auto before = Clock::now();
  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_EQ(remora.waitExit(deadlineIn(3s)), 0);
  auto waited = msSince(before);
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_TRUE(client.waitClosed(deadlineIn(1s))) << "the client connection outlived remora";
  std::cout << "[ measure  ] exit after SIGTERM with drain_timeout 300ms: " << waited.count()
            << " ms\n";
}

TEST(DrainLimits, DrainDelayKeepsServingThenClosesTheListener) {
  Remora remora;
  ASSERT_TRUE(remora.start(R"(admin: {address: "127.0.0.1:0"}
workers: 1
lifecycle: {drain_delay: 500ms}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: hello}
)"));
  uint16_t port = remora.port("edge");
  ASSERT_EQ(httpGet(port, "/").status, 200);

  auto before = Clock::now();
  ASSERT_TRUE(remora.signal(SIGTERM));
  EXPECT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 503; }, deadlineIn(250ms)))
      << "/ready did not turn 503 at once";
  // Within the delay, a new connection is still accepted and served.
  HttpResponse during = httpGet(port, "/", {}, deadlineIn(1s));
  auto served_at = msSince(before);
  EXPECT_EQ(during.status, 200) << during;
  EXPECT_LT(served_at, 500ms) << "this check ran too late to show anything";

  // Then the listener stops accepting: refused, or closed without an answer.
  auto refused = [&] {
    HttpClient client;
    if (!client.connect(port, deadlineIn(200ms))) return true;
    HttpResponse r = client.request("GET", "/", {}, {}, deadlineIn(500ms));
    return r.status == 0;
  };
  EXPECT_TRUE(waitUntil(refused, deadlineIn(3s))) << "the listener still accepts after the delay";
  auto closed_at = msSince(before);
  EXPECT_GE(closed_at, 450ms) << "the listener closed before drain_delay";
  EXPECT_EQ(remora.waitExit(deadlineIn(3s)), 0);
  std::cout << "[ measure  ] drain_delay 500ms: served at " << served_at.count()
            << " ms, listener closed by " << closed_at.count() << " ms, exited by "
            << msSince(before).count() << " ms\n";
}

// --- Reload and admin lifecycle paths ---

constexpr char kDirectConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "{{body}}"}
)";

std::string directConfig(const std::string& body) {
  return render(kDirectConfig, {{"body", body}});
}

// The snapshot version /config_dump reports; -1 when it cannot be read.
long long configVersion(const Remora& remora) {
  HttpResponse r = remora.adminGet("/config_dump");
  if (r.status != 200) return -1;
  nlohmann::json dump = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!dump.is_object() || !dump.contains("version") || !dump["version"].is_number_integer()) {
    return -1;
  }
  return dump["version"].get<long long>();
}

TEST(ReloadLimits, IdenticalFileChangesNothingAndAChangedOneBumpsTheVersion) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  uint16_t port = remora.port("edge");
  long long version = configVersion(remora);
  ASSERT_GE(version, 0) << remora.adminGet("/config_dump");
  HttpClient kept(port);
  ASSERT_EQ(kept.request("GET", "/").status, 200);

  size_t unchanged_before = occurrences(remora.logs(), "configuration unchanged");
  remora.reload(directConfig("v1"));
  // remora logs that it looked at the file and found nothing to do.
  EXPECT_TRUE(waitUntil(
      [&] { return occurrences(remora.logs(), "configuration unchanged") > unchanged_before; },
      deadlineIn(3s)))
      << remora.logs();
  EXPECT_EQ(configVersion(remora), version);
  HttpResponse r = kept.request("GET", "/");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "v1");

  remora.reload(directConfig("v2"));
  EXPECT_TRUE(waitUntil([&] { return configVersion(remora) > version; }, deadlineIn(3s)));
  EXPECT_TRUE(waitUntil([&] { return kept.request("GET", "/").body == "v2"; }, deadlineIn(3s)));
}

TEST(AdminLifecycle, GetOnLifecyclePathsIs405) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  for (const char* path : {"/quitquitquit", "/drain"}) {
    HttpResponse r = remora.adminGet(path);
    EXPECT_EQ(r.status, 405) << path << ": " << r;
  }
  EXPECT_TRUE(remora.running());
  EXPECT_EQ(remora.adminGet("/ready").status, 200);
  EXPECT_EQ(httpGet(remora.port("edge"), "/").status, 200);
}

TEST(AdminLifecycle, QuitQuitQuitExitsPromptly) {
  Remora remora;
  ASSERT_TRUE(remora.start(directConfig("v1")));
  HttpClient idle(remora.port("edge"));
  ASSERT_EQ(idle.request("GET", "/").status, 200);
  auto before = Clock::now();
  HttpResponse r = remora.adminPost("/quitquitquit");
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(remora.waitExit(deadlineIn(2s)), 0);
  auto waited = msSince(before);
  EXPECT_LT(waited, 1s);
  EXPECT_TRUE(idle.waitClosed(deadlineIn(1s)));
  std::cout << "[ measure  ] exit after POST /quitquitquit: " << waited.count() << " ms\n";
}

TEST(AdminLifecycle, PostDrainStopsReadinessAndExitsOnceIdle) {
  Event request_arrived;
  Event release;
  ScriptedUpstream slow([&](UpstreamConnection& c) {
    if (!c.readRequest()) return;
    request_arrived.set();
    release.wait(deadlineIn(5s));
    c.respond(200, "done");
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: slow
clusters:
  - name: slow
    endpoints: ["{{slow}}"]
)",
                                  {{"slow", slow.address()}})));
  HttpClient client(remora.port("edge"));
  ASSERT_TRUE(client.send(formatRequest("GET", "/slow")));
  ASSERT_TRUE(request_arrived.wait(deadlineIn(2s)));

  HttpResponse drain = remora.adminPost("/drain");
  EXPECT_EQ(drain.status, 200) << drain;
  EXPECT_TRUE(waitUntil([&] { return remora.adminGet("/ready").status == 503; }, deadlineIn(1s)));
  EXPECT_TRUE(remora.running()) << "exited with a request in flight";

  release.set();
  HttpResponse r = client.readResponse(deadlineIn(3s));
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "done");
  // Draining, remora ends the connection after the response; once the client has closed its
  // side too, nothing is open any more and remora exits.
  EXPECT_TRUE(client.waitClosed(deadlineIn(1s)));
  client.close();
  auto closed = Clock::now();
  EXPECT_EQ(remora.waitExit(deadlineIn(3s)), 0);
  EXPECT_LT(msSince(closed), 1s);
}

}  // namespace
}  // namespace remora::harness

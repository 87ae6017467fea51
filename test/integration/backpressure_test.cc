// remora's memory under backpressure: a 1 GiB upload to an upstream that stalls, and a 1 GiB
// download to a client that stalls, both with remora's peak RSS bounded.
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kBodyBytes = 1ull << 30;  // 1 GiB
constexpr size_t kPieceBytes = 64 * 1024;    // what the sender writes from, again and again
// AddressSanitizer holds freed memory in quarantine (256 MB by default), so a sanitized build's
// RSS says nothing about remora's buffering; there the bound only has to catch unbounded growth.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kMaxPeakRssKiB = 512 * 1024;
#else
constexpr uint64_t kMaxPeakRssKiB = 64 * 1024;  // 64 MB
#endif
// What the sender may get ahead of a stalled receiver: kernel socket buffers on both hops plus
// remora's own, far below what 1 s of unthrottled sending would be.
constexpr uint64_t kMaxBufferedBytes = 64ull << 20;
// How long the receiving side reads nothing at first, so that every buffer on the way fills up.
constexpr auto kStall = 1s;

constexpr char kConfig[] = R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
        timeout: 120s
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)";

// A field of /proc/<pid>/status in KiB (VmHWM: peak RSS; VmRSS: current); 0 when absent.
uint64_t procStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// Reads and discards up to `limit` bytes from `socket` as fast as it can (what the Socket had
// buffered first); returns how many arrived before EOF, an error or the deadline.
uint64_t discard(Socket& socket, uint64_t limit, Deadline deadline) {
  uint64_t got = socket.readSome(Clock::now()).size();  // read ahead with the head, if any
  std::vector<char> buffer(1 << 20);
  while (got < limit) {
    ssize_t n = ::recv(socket.fd(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      got += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd pfd{socket.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, msLeft(deadline)) == 0) break;
  }
  return got;
}

// Sends `total` bytes taken from one fixed buffer over and over, counting them in `sent`.
bool sendRepeated(Socket& socket, uint64_t total, std::atomic<uint64_t>& sent, Deadline deadline) {
  const std::string piece(kPieceBytes, 'x');
  while (sent < total) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), total - sent));
    if (!socket.sendAll(std::string_view(piece).substr(0, n), deadline)) return false;
    sent += n;
  }
  return true;
}

double mibPerSecond(uint64_t bytes, Clock::duration elapsed) {
  return static_cast<double>(bytes) / (1 << 20) / std::chrono::duration<double>(elapsed).count();
}

TEST(Backpressure, GigabyteUploadToAStalledUpstreamKeepsMemoryBounded) {
  std::atomic<uint64_t> client_sent{0};
  std::atomic<uint64_t> sent_during_stall{0};
  std::atomic<uint64_t> upstream_got{0};
  Event head_arrived;
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    std::optional<HttpRequest> head = c.readRequestHead(deadlineIn(10s));
    if (!head) return;
    head_arrived.set();
    std::this_thread::sleep_for(kStall);  // reads nothing: remora's buffers must fill up
    sent_during_stall = client_sent.load();
    upstream_got = discard(c.socket(), kBodyBytes, deadlineIn(60s));
    c.respond(200, "got " + std::to_string(upstream_got.load()));
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"backend", upstream.address()}})));
  uint64_t start_hwm = procStatusKiB(remora.pid(), "VmHWM");

  HttpClient client(remora.port("edge"));
  auto before = Clock::now();
  ASSERT_TRUE(client.send(
      formatRequest("POST", "/upload", {{"Content-Length", std::to_string(kBodyBytes)}})));
  EXPECT_TRUE(sendRepeated(client.socket(), kBodyBytes, client_sent, deadlineIn(60s)))
      << client.socket().error();
  HttpResponse r = client.readResponse(deadlineIn(30s));
  auto elapsed = Clock::now() - before;
  uint64_t peak_hwm = procStatusKiB(remora.pid(), "VmHWM");

  EXPECT_TRUE(head_arrived.isSet());
  EXPECT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.body, "got " + std::to_string(kBodyBytes));
  EXPECT_EQ(upstream_got.load(), kBodyBytes);
  EXPECT_GT(peak_hwm, 0u) << "no VmHWM in /proc/" << remora.pid() << "/status";
  EXPECT_LT(peak_hwm, kMaxPeakRssKiB) << "remora's peak RSS: " << peak_hwm << " KiB";
  // The stall reached the client: it could only fill the buffers on the way, not run ahead.
  EXPECT_GT(sent_during_stall.load(), 0u);
  EXPECT_LT(sent_during_stall.load(), kMaxBufferedBytes);
  std::cout << "[ measure  ] upload 1 GiB: " << (sent_during_stall.load() >> 10)
            << " KiB sent by the client while the upstream stalled; VmHWM " << start_hwm
            << " KiB at start, " << peak_hwm << " KiB at the end; "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms ("
            << mibPerSecond(kBodyBytes, elapsed) << " MiB/s including the 1 s stall)\n";
}

TEST(Backpressure, GigabyteDownloadToAStalledClientKeepsMemoryBounded) {
  std::atomic<uint64_t> upstream_sent{0};
  ScriptedUpstream upstream([&](UpstreamConnection& c) {
    while (std::optional<HttpRequest> request = c.readRequest(deadlineIn(60s))) {
      if (request->target != "/download") {
        if (!c.respond(200, "small")) return;
        continue;
      }
      if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBodyBytes) +
                  "\r\n\r\n") ||
          !sendRepeated(c.socket(), kBodyBytes, upstream_sent, deadlineIn(60s))) {
        return;
      }
    }
  });
  Remora remora;
  ASSERT_TRUE(remora.start(render(kConfig, {{"backend", upstream.address()}})));
  uint64_t start_hwm = procStatusKiB(remora.pid(), "VmHWM");

  HttpClient client(remora.port("edge"));
  auto before = Clock::now();
  ASSERT_TRUE(client.send(formatRequest("GET", "/download")));
  std::this_thread::sleep_for(kStall);  // reads nothing: remora's buffers must fill up
  uint64_t sent_during_stall = upstream_sent.load();
  HttpResponse head = client.readResponseHead(deadlineIn(10s));
  ASSERT_EQ(head.status, 200) << head;
  EXPECT_EQ(head.headers.get("content-length"), std::to_string(kBodyBytes)) << head;
  uint64_t got = discard(client.socket(), kBodyBytes, deadlineIn(60s));
  auto elapsed = Clock::now() - before;
  uint64_t peak_hwm = procStatusKiB(remora.pid(), "VmHWM");

  EXPECT_EQ(got, kBodyBytes);
  EXPECT_GT(peak_hwm, 0u) << "no VmHWM in /proc/" << remora.pid() << "/status";
  EXPECT_LT(peak_hwm, kMaxPeakRssKiB) << "remora's peak RSS: " << peak_hwm << " KiB";
  // The stall reached the upstream: it could only fill the buffers on the way, not run ahead.
  EXPECT_GT(sent_during_stall, 0u);
  EXPECT_LT(sent_during_stall, kMaxBufferedBytes);
  // Exactly the body: the connection is still usable for another request.
  HttpResponse again = client.request("GET", "/small", {}, {}, deadlineIn(2s));
  EXPECT_EQ(again.status, 200) << "after the download: " << again;
  EXPECT_EQ(again.body, "small");
  std::cout << "[ measure  ] download 1 GiB: " << (sent_during_stall >> 10)
            << " KiB sent by the upstream while the client stalled; VmHWM " << start_hwm
            << " KiB at start, " << peak_hwm << " KiB at the end; "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms ("
            << mibPerSecond(kBodyBytes, elapsed) << " MiB/s including the 1 s stall)\n";
}

}  // namespace
}  // namespace remora::harness

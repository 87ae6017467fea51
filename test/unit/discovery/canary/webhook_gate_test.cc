// Unit tests of WebhookGate against real sockets: a webhook that never answers is cut off at its
// timeout and called again after a second, and a gate no webhook is listed for approves at once.
#include "discovery/canary/webhook_gate.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>

namespace remora::canary {
namespace {

using namespace std::chrono_literals;

// A port that takes connections (the kernel's backlog completes them) and never reads or answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/gate"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct Settled {
  bool approved = false;
  std::string detail;
};

struct GateFixture {
  event_base* base = event_base_new();
  std::optional<discovery::HttpClient> client{std::in_place, base};
  std::optional<WebhookGate> gate{std::in_place, *client};
  ~GateFixture() {
    gate.reset();
    client.reset();
    event_base_free(base);
  }
  // Runs the loop until the gate settles, or for at most `limit`.
  std::optional<Settled> ask(const std::vector<config::Canary::Webhook>& hooks, Gate which,
                             std::chrono::milliseconds limit) {
    std::optional<Settled> result;
    gate->ask(hooks, which, "{}", [&](bool approved, std::string detail) {
      result = Settled{approved, std::move(detail)};
      event_base_loopbreak(base);
    });
    if (!result) {
      const timeval cap = {static_cast<time_t>(limit.count() / 1000),
                           static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
      event_base_loopexit(base, &cap);
      event_base_dispatch(base);
    }
    return result;
  }
};

TEST(WebhookGateTest, AWebhookThatNeverAnswersIsCutOffAtItsTimeoutAndCalledAgain) {
  SilentPort silent;
  config::Canary::Webhook hook;
  hook.url = silent.url();
  hook.timeout = config::Duration(300);
  hook.retries = 1;
  GateFixture f;
  const auto start = std::chrono::steady_clock::now();
  std::optional<Settled> settled = f.ask({hook}, Gate::Step, 10s);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(settled.has_value());
  EXPECT_FALSE(settled->approved);
  EXPECT_EQ(settled->detail, "webhook " + hook.url + " timed out after 300ms (2 calls)");
  // Two calls of 300 ms, a second apart.
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 5s);
}

TEST(WebhookGateTest, AGateNoWebhookIsListedForApprovesAtOnce) {
  config::Canary::Webhook promote_only;
  promote_only.url = "http://127.0.0.1:1/never-called";
  promote_only.on_step = false;
  GateFixture f;
  std::optional<Settled> settled = f.ask({promote_only}, Gate::Step, 1s);
  ASSERT_TRUE(settled.has_value());
  EXPECT_TRUE(settled->approved);
  EXPECT_EQ(settled->detail, "");
  EXPECT_FALSE(f.gate->asking());
}

}  // namespace
}  // namespace remora::canary

// `remora await`: an app's entrypoint waits for its sidecar's /ready, with a deadline.
#include <chrono>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

std::string configWithAdminPort(uint16_t port) {
  return render(R"(admin: {address: "127.0.0.1:{{port}}"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        direct_response: {status: 200, body: "up"}
)",
                {{"port", std::to_string(port)}});
}

TEST(Await, ReturnsOnceRemoraStartsAfterIt) {
  TempDir dir;
  const uint16_t admin = freePort();
  const std::string address = "127.0.0.1:" + std::to_string(admin);
  // The app's side starts first, as it does in a pod, and waits.
  Process await({remoraBinary(), "await", "--admin", address, "--timeout", "20s"}, dir.path(),
                "await");
  EXPECT_FALSE(await.waitExit(deadlineIn(300ms)).has_value()) << "returned before remora ran";
  Remora remora;
  ASSERT_TRUE(remora.start(configWithAdminPort(admin)));
  std::optional<int> code = await.waitExit(deadlineIn(10s));
  ASSERT_TRUE(code.has_value()) << "still waiting although remora is ready";
  EXPECT_EQ(*code, 0) << await.err();
}

TEST(Await, TimesOutWhileNotReadyAndSucceedsOnceReady) {
  Remora remora;
  ASSERT_TRUE(remora.start(configWithAdminPort(0)));
  const std::string address = "127.0.0.1:" + std::to_string(remora.adminPort());
  ASSERT_EQ(remora.adminPost("/healthcheck/fail").status, 200);
  const auto before = std::chrono::steady_clock::now();
  CommandResult failed = runCommand(
      {remoraBinary(), "await", "--admin", address, "--timeout", "300ms"}, deadlineIn(5s));
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("503"), std::string::npos) << failed.err;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);

  ASSERT_EQ(remora.adminPost("/healthcheck/ok").status, 200);
  CommandResult ok =
      runCommand({remoraBinary(), "await", "--admin", address, "--timeout", "5s"}, deadlineIn(10s));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(Await, BadArgumentsExitTwo) {
  EXPECT_EQ(runCommand({remoraBinary(), "await", "--admin", "nowhere"}, deadlineIn(5s)).exit_code,
            2);
  EXPECT_EQ(runCommand({remoraBinary(), "await", "--timeout", "soon"}, deadlineIn(5s)).exit_code,
            2);
  EXPECT_EQ(runCommand({remoraBinary(), "await", "--bogus"}, deadlineIn(5s)).exit_code, 2);
}

}  // namespace
}  // namespace remora::harness

// Headers remora adds for the upstream about the client's request: x-forwarded-proto, kept from
// a trusted client and replaced for any other.
#include <chrono>

#include "integration/harness/certs.h"
#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

// The x-forwarded-proto of every request the upstream received, in order.
std::vector<std::string> forwardedProtos(ScriptedUpstream& upstream) {
  std::vector<std::string> protos;
  for (const HttpRequest& request : upstream.requests()) {
    protos.push_back(request.headers.get("x-forwarded-proto").value_or("(none)"));
  }
  return protos;
}

// The upstream learns how the client reached remora from x-forwarded-proto: "https" for both
// HTTP/1.1 and HTTP/2 over TLS, and "http" on a plaintext listener whatever :scheme an h2c client
// claims.
TEST(ForwardedHeaders, XForwardedProtoSaysHowTheClientConnected) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(
      render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: secure
    address: "127.0.0.1:0"
    tls: {{tls}}
    routes:
      - match: {prefix: /}
        cluster: backend
  - name: plain
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
             {{"tls", serverTlsYaml(pki().server())}, {"backend", upstream.address()}})));
  const std::string secure = "https://127.0.0.1:" + std::to_string(remora.port("secure")) + "/";
  for (const char* version : {"--http1.1", "--http2"}) {
    CommandResult r =
        runCommand({"curl", "-sS", "--cacert", pki().ca(), version, secure}, deadlineIn(30s));
    EXPECT_EQ(r.out, "ok") << version << " " << r.err;
  }
  CommandResult h2c = runCommand({"nghttp", "--no-dep", "-H", ":scheme: https",
                                  "http://127.0.0.1:" + std::to_string(remora.port("plain")) + "/"},
                                 deadlineIn(30s));
  EXPECT_EQ(h2c.exit_code, 0) << h2c.err;
  EXPECT_EQ(forwardedProtos(upstream), (std::vector<std::string>{"https", "https", "http"}));
}

// A client's own x-forwarded-proto is kept from a trusted client (a TLS-terminating balancer on
// the same host) and replaced on an untrusted listener, where a plaintext client could otherwise
// pass for an HTTPS one.
TEST(ForwardedHeaders, AnUntrustedClientsXForwardedProtoIsReplaced) {
  ScriptedUpstream upstream(ScriptedUpstream::respondWith(200, "ok"));
  Remora remora;
  ASSERT_TRUE(remora.start(render(R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: trusted
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
  - name: untrusted
    address: "127.0.0.1:0"
    trusted: false
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["{{backend}}"]
)",
                                  {{"backend", upstream.address()}})));
  for (const char* listener : {"trusted", "untrusted"}) {
    CommandResult r =
        runCommand({"curl", "-sS", "-H", "x-forwarded-proto: https",
                    "http://127.0.0.1:" + std::to_string(remora.port(listener)) + "/"},
                   deadlineIn(30s));
    EXPECT_EQ(r.out, "ok") << listener << " " << r.err;
  }
  EXPECT_EQ(forwardedProtos(upstream), (std::vector<std::string>{"https", "http"}));
}

}  // namespace
}  // namespace remora::harness

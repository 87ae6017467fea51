// ConsulAgent: the dev agent's command line, waiting for its leader, and its API calls.
#include <cstdlib>
#include <stdexcept>

#include "integration/harness/consul.h"
#include "integration/harness/http.h"
#include "integration/harness/socket.h"
#include "integration/harness/wait.h"

namespace remora::harness {

using namespace std::chrono_literals;
using json = nlohmann::json;

ConsulAgent::ConsulAgent(std::string acl_token) : acl_token_(std::move(acl_token)) {
  for (uint16_t& port : ports_) port = freePort();
  start();
}

void ConsulAgent::start() {
  const char* home = std::getenv("HOME");
  const std::string binary = std::string(home != nullptr ? home : "/root") + "/go/bin/consul";
  std::vector<std::string> acl;
  if (!acl_token_.empty()) {
    acl = {"-hcl",
           "acl { enabled = true\n default_policy = \"deny\"\n tokens { initial_management = \"" +
               acl_token_ + "\" } }"};
  }
  std::vector<std::string> argv{binary,
                                "agent",
                                "-dev",
                                "-bind",
                                "127.0.0.1",
                                "-client",
                                "127.0.0.1",
                                "-node",
                                "test",
                                "-http-port",
                                std::to_string(ports_[0]),
                                "-dns-port",
                                std::to_string(ports_[1]),
                                "-server-port",
                                std::to_string(ports_[2]),
                                "-serf-lan-port",
                                std::to_string(ports_[3]),
                                "-serf-wan-port",
                                std::to_string(ports_[4]),
                                "-grpc-port",
                                "-1",
                                "-grpc-tls-port",
                                "-1"};
  argv.insert(argv.end(), acl.begin(), acl.end());
  process_ =
      std::make_unique<Process>(argv, dir_.path(), "consul-" + std::to_string(generation_++));
  const bool leader = waitUntil(
      [&] {
        HttpResponse response = httpGet(ports_[0], "/v1/status/leader", {}, deadlineIn(1s));
        return response.status == 200 && response.body.find(':') != std::string::npos;
      },
      deadlineIn(15s), 20ms);
  if (!leader) throw std::runtime_error("consul had no leader:\n" + process_->out());
}

int ConsulAgent::request(const std::string& method, const std::string& path,
                         const std::string& body) {
  HeaderList headers;
  if (!acl_token_.empty()) headers.push_back({"X-Consul-Token", acl_token_});
  return httpRequest(ports_[0], method, path, headers, body).status;
}

json ConsulAgent::get(const std::string& path) {
  HeaderList headers;
  if (!acl_token_.empty()) headers.push_back({"X-Consul-Token", acl_token_});
  HttpResponse response = httpGet(ports_[0], path, headers);
  return response.status == 200 ? json::parse(response.body, nullptr, false) : json();
}

bool ConsulAgent::addUser(const std::string& id, const ScriptedUpstream& upstream,
                          const std::string& version) {
  const json body = {{"ID", id},
                     {"Name", "users"},
                     {"Address", "127.0.0.1"},
                     {"Port", upstream.port()},
                     {"Meta", {{"version", version}}}};
  return request("PUT", "/v1/agent/service/register", body.dump()) == 200;
}

bool ConsulAgent::removeUser(const std::string& id) {
  return request("PUT", "/v1/agent/service/deregister/" + id) == 200;
}

bool ConsulAgent::hasService(const std::string& id) {
  return get("/v1/agent/services").contains(id);
}

}  // namespace remora::harness

// ConsulAgent: a real Consul agent in -dev mode for the tests, on free loopback ports, its state
// in memory (it dies with the process), with the few API calls the tests make as other clients.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/harness/process.h"
#include "integration/harness/scripted_upstream.h"
#include "integration/harness/temp_dir.h"

namespace remora::harness {

class ConsulAgent {
 public:
  // Starts the agent ($HOME/go/bin/consul) and waits for a leader; throws when there is none.
  // With `acl_token`, ACLs are enforced (default deny) and that token is the management token,
  // which the agent's own calls below send.
  explicit ConsulAgent(std::string acl_token = "");

  // Starts (again, on the same ports) and waits for a leader; throws when there is none.
  void start();
  void kill() { process_.reset(); }  // SIGKILL

  std::string address() const { return "http://127.0.0.1:" + std::to_string(ports_[0]); }

  // The status of `method path` with `body`.
  int request(const std::string& method, const std::string& path, const std::string& body = "");
  // The JSON of GET `path`; null unless it answered 200.
  nlohmann::json get(const std::string& path);

  // An instance of `users` as its own sidecar would register it, without a check.
  bool addUser(const std::string& id, const ScriptedUpstream& upstream, const std::string& version);
  bool removeUser(const std::string& id);
  bool hasService(const std::string& id);

 private:
  std::string acl_token_;
  TempDir dir_;
  uint16_t ports_[5] = {};  // http, dns, server, serf lan, serf wan
  int generation_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace remora::harness

// ConsulAgent: a real `consul agent -dev` as a child process for the consul registry's tests,
// on free loopback ports, and the event-loop helpers those tests drive it with.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "discovery/http_client.h"

namespace remora::consultest {

class ConsulAgent {
 public:
  explicit ConsulAgent(discovery::HttpClient& http) : http_(http) {}
  ~ConsulAgent() { kill(); }
  ConsulAgent(const ConsulAgent&) = delete;
  ConsulAgent& operator=(const ConsulAgent&) = delete;

  // Before start(): also serve HTTPS, with a CA, a server certificate (for localhost, 127.0.0.1
  // and server.dc1.consul) and a client certificate made by `consul tls` in `dir`, and require
  // client certificates. "" on success, else what went wrong.
  std::string enableTls(const std::string& dir);
  // Starts on free ports (the first time) or the same ports again, and waits for a leader.
  // "" on success, else what went wrong (with the agent's log).
  std::string start();
  // SIGKILL and reap: the agent's state (dev mode keeps it in memory) is gone with it.
  void kill();

  // http://127.0.0.1:<http port>
  std::string address() const;
  // https://127.0.0.1:<https port>, after enableTls().
  std::string httpsAddress() const;
  std::string caFile() const { return tls_dir_ + "/consul-agent-ca.pem"; }
  std::string clientCert() const { return tls_dir_ + "/dc1-client-consul-0.pem"; }
  std::string clientKey() const { return tls_dir_ + "/dc1-client-consul-0-key.pem"; }

 private:
  std::string launch();

  discovery::HttpClient& http_;
  pid_t pid_ = -1;
  uint16_t ports_[6] = {};  // http, dns, server, serf lan, serf wan, https
  std::string tls_dir_;     // "" : no HTTPS
  std::string log_path_;
};

// Runs `base` until `done` holds or `limit` passes; whether `done` held.
bool runUntil(event_base* base, const std::function<bool()>& done, std::chrono::milliseconds limit);

// One request through `http`, the loop run until it is answered.
discovery::HttpResponse fetchNow(discovery::HttpClient& http, const std::string& method,
                                 const std::string& url, const std::string& body = "");

}  // namespace remora::consultest

// ConsulFleetStore: the fleet's canary records in Consul's KV store: one session per remora (a
// TTL renewed at a third of it, behavior delete, no lock delay) whose locks carry its counts, its
// steering requests and, for the leader, the `leader` key taken with ?acquire; the state is
// written by a transaction that first checks the leader key is still locked by this session.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/canary/fleet_store.h"
#include "discovery/http_client.h"

namespace remora::canary {

class ConsulFleetStore : public FleetStore {
 public:
  ConsulFleetStore(discovery::HttpClient& http, const config::ConsulRegistry& config,
                   std::string self);
  ~ConsulFleetStore() override;

  const char* kind() const override { return "consul"; }
  const std::string& self() const override { return self_; }
  void resign() override;

  std::unique_ptr<discovery::HttpCall> sync(
      const FleetRun& run, std::optional<std::string> counts,
      std::function<void(std::optional<FleetView>, std::string error)> done) override;
  std::unique_ptr<discovery::HttpCall> writeState(
      const FleetRun& run, std::string state,
      std::function<void(bool written, std::string error)> done) override;
  std::unique_ptr<discovery::HttpCall> readState(
      const FleetRun& run,
      std::function<void(bool ok, std::optional<std::string> state, std::string error)> done)
      override;
  std::unique_ptr<discovery::HttpCall> request(
      const FleetRun& run, std::string request,
      std::function<void(bool ok, std::string error)> done) override;

 private:
  std::string prefix(const FleetRun& run) const;
  // /v1/kv/<key> with each segment of the key escaped.
  static std::string kvPath(const std::string& key);
  // `query` without its '?': the datacenter is added to it.
  discovery::HttpRequest call(const char* method, const std::string& path, std::string query,
                              std::string body) const;
  void createSession();
  void sessionFailed(const std::string& error);
  void schedule(std::chrono::milliseconds wait);
  static void onTimer(evutil_socket_t, short, void* self);

  discovery::HttpClient& http_;
  const config::ConsulRegistry config_;
  const std::string token_;
  const std::string self_;
  // Until a session exists this remora only reads: no counts, no leadership, no requests.
  std::string session_;
  bool session_wanted_ = false;
  bool resigned_ = false;
  std::unique_ptr<discovery::HttpCall> session_call_;
  event* timer_;
  discovery::Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(5000)};
};

}  // namespace remora::canary

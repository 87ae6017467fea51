// EtcdFleetStore: the fleet's canary records in etcd through its v3 JSON gateway: one lease per
// remora (kept alive at a third of its TTL, granted again when lost) that carries its counts, its
// steering requests and, for the leader, the `leader` key taken by a transaction on
// create_revision == 0; the state is written by a transaction that checks the leader key still
// belongs to this lease.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/canary/fleet_store.h"
#include "discovery/etcd/etcd_client.h"

namespace remora::canary {

class EtcdFleetStore : public FleetStore {
 public:
  EtcdFleetStore(discovery::HttpClient& http, const config::EtcdRegistry& config, std::string self);
  ~EtcdFleetStore() override;

  const char* kind() const override { return "etcd"; }
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
  void grant();
  void keepAlive();
  void leaseFailed(const std::string& error);
  void schedule(std::chrono::milliseconds wait);
  static void onTimer(evutil_socket_t, short, void* self);

  event_base* base_;
  discovery::etcd::EtcdClient client_;
  const std::string self_;
  const std::chrono::milliseconds ttl_;
  // Until a lease is granted this remora only reads: no counts, no leadership, no requests.
  int64_t lease_ = 0;
  bool lease_wanted_ = false;
  bool resigned_ = false;
  std::unique_ptr<discovery::HttpCall> lease_call_;
  event* timer_;
  discovery::Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(5000)};
};

}  // namespace remora::canary

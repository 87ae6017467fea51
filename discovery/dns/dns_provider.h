// DnsProvider: the `dns` registry: one SRV lookup per service, read again when its TTL passes.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/dns/ares_channel.h"
#include "discovery/registry_provider.h"

namespace remora::discovery::dns {

// Each service's endpoints are srvEndpoints() of its SRV records (srv_order.h). A failed lookup
// (timeout, refused, SERVFAIL, a malformed answer) keeps the service's last endpoints and is
// retried with jittered backoff (1s up to 30s); NXDOMAIN or an answer without SRV records is the
// registry saying "none", and empties the service.
class DnsProvider : public RegistryProvider {
 public:
  DnsProvider(event_base* base, const config::DnsRegistry& config, ProviderCallbacks callbacks);
  ~DnsProvider() override;

  void watch(const std::set<std::string>& services) override;
  const RegistryStatus& status() const override { return status_; }

  // The SRV name asked for a service: "_<service>._tcp.<domain>". A service written with a
  // leading '_' ("_grpc._tcp") is taken as it is, with ".<domain>" appended unless the domain is
  // empty or the name ends in '.' (already absolute).
  static std::string queryName(const std::string& service, const std::string& domain);

 private:
  struct Service;

  void query(Service& service);
  void answered(const std::string& name, uint64_t id, const DnsResult& result,
                std::vector<SrvRecord> records);
  void schedule(Service& service, std::chrono::milliseconds wait);
  void updateStatus();
  void publish();
  static void onTimer(evutil_socket_t, short, void* service);

  event_base* base_;
  config::DnsRegistry config_;
  ProviderCallbacks callbacks_;
  std::unique_ptr<AresChannel> channel_;
  std::map<std::string, std::unique_ptr<Service>> services_;
  uint64_t next_id_ = 0;  // tells a re-watched service's answers from its earlier self's
  RegistryStatus status_;
  bool published_once_ = false;
  RegistryView last_view_;
};

}  // namespace remora::discovery::dns

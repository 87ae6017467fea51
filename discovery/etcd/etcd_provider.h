// EtcdProvider: the `etcd` registry: the prefix read, then watched (EtcdWatchLoop), and a view
// passed on whenever the watched services' instances changed.
#pragma once

#include <event2/event.h>

#include <memory>
#include <set>
#include <string>

#include "config/config.h"
#include "discovery/coalescer.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/etcd/etcd_instances.h"
#include "discovery/etcd/etcd_watch_loop.h"
#include "discovery/registry_provider.h"

namespace remora::discovery::etcd {

class EtcdProvider : public RegistryProvider {
 public:
  EtcdProvider(HttpClient& http, const config::EtcdRegistry& config, ProviderCallbacks callbacks);
  ~EtcdProvider() override;

  void watch(const std::set<std::string>& services) override;
  const RegistryStatus& status() const override { return status_; }

 private:
  void publish();

  config::EtcdRegistry config_;
  ProviderCallbacks callbacks_;
  EtcdClient client_;
  std::set<std::string> services_;
  EtcdInstances instances_;  // everything under the prefix
  bool have_range_ = false;
  // Watch messages that remora reads behind a burst of changes make one view, not one each.
  Coalescer publish_;
  RegistryStatus status_;
  EtcdWatchLoop loop_;
};

}  // namespace remora::discovery::etcd

// EtcdProvider: the `etcd` registry: ranges the prefix, then watches it from the next revision.
#pragma once

#include <event2/event.h>

#include <memory>
#include <set>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/coalescer.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/etcd/etcd_instances.h"
#include "discovery/registry_provider.h"

namespace remora::discovery::etcd {

class EtcdProvider : public RegistryProvider {
 public:
  EtcdProvider(HttpClient& http, const config::EtcdRegistry& config, ProviderCallbacks callbacks);
  ~EtcdProvider() override;

  void watch(const std::set<std::string>& services) override;
  const RegistryStatus& status() const override { return status_; }

 private:
  void range();
  void startWatch();
  void onWatchData(std::string_view data);
  // False when the line ends the watch (cancelled, error, garbage).
  bool onWatchLine(std::string_view line);
  void fail(const std::string& error);
  void retryLater();
  void succeeded();
  void publish();
  static void onRetry(evutil_socket_t, short, void* self);

  HttpClient& http_;
  config::EtcdRegistry config_;
  ProviderCallbacks callbacks_;
  EtcdClient client_;
  std::set<std::string> services_;
  EtcdInstances instances_;  // everything under the prefix
  int64_t revision_ = 0;     // every change up to this one is in instances_
  bool have_range_ = false;
  std::unique_ptr<HttpCall> call_;
  std::string partial_line_;
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
  event* retry_timer_;
  // Watch messages that remora reads behind a burst of changes make one view, not one each.
  Coalescer publish_;
  RegistryStatus status_;
};

}  // namespace remora::discovery::etcd

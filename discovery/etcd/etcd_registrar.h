// EtcdRegistrar: the local service as a key under a lease, kept alive, re-put when lost.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/registrar.h"

namespace remora::discovery::etcd {

class EtcdRegistrar : public Registrar {
 public:
  EtcdRegistrar(HttpClient& http, const config::EtcdRegistry& config,
                const config::Service& service);
  ~EtcdRegistrar() override;

  void start(AppHealth health, std::function<void()> on_registered) override;
  void setHealth(AppHealth health) override;
  void deregister(std::function<void()> done) override;
  const RegistryStatus& status() const override { return status_; }

  const std::string& key() const { return key_; }

 private:
  // Grant (when there is no lease), then put or delete the key as the app's health says.
  void sync();
  void grant();
  void apply();
  void keepAlive();
  void fail(const std::string& error);
  void schedule(std::chrono::milliseconds wait);
  static void onTimer(evutil_socket_t, short, void* self);

  config::EtcdRegistry config_;
  config::Service service_;
  EtcdClient client_;
  std::string key_;
  std::string lease_;  // "" : none held
  bool key_present_ = false;
  AppHealth published_ = AppHealth::Critical;  // what the key says, while present
  AppHealth health_ = AppHealth::Critical;
  bool started_ = false;
  bool stopping_ = false;
  std::function<void()> on_registered_;
  std::unique_ptr<HttpCall> call_;
  event* timer_;
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(10000)};
  RegistryStatus status_;
};

}  // namespace remora::discovery::etcd

// ConsulRegistrar: the local service in the local Consul agent, its check kept in step with the
// app, registered again whenever the agent has lost it.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/http_client.h"
#include "discovery/registrar.h"

namespace remora::discovery::consul {

class ConsulRegistrar : public Registrar {
 public:
  ConsulRegistrar(HttpClient& http, const config::ConsulRegistry& config,
                  const config::Service& service);
  ~ConsulRegistrar() override;

  void start(AppHealth health, std::function<void()> on_registered) override;
  void setHealth(AppHealth health) override;
  void deregister(std::function<void()> done) override;
  const RegistryStatus& status() const override { return status_; }

  // How often the TTL check is refreshed (the TTL is three of these, so two refreshes may fail
  // before Consul turns the instance critical) or, with an http check, the registration is
  // confirmed. It is the app's health-check interval: remora knows nothing newer before that.
  std::chrono::milliseconds period() const { return period_; }

 private:
  void registerService();
  void updateCheck();
  void setMaintenance(bool enable);
  void confirm();
  // After any successful exchange: publish a health that changed meanwhile, or wait a period.
  void next();
  void succeeded();
  // The agent answered that it does not know the service or its check (it restarted).
  void lost(const std::string& why);
  void fail(const std::string& error);
  void schedule(std::chrono::milliseconds wait);
  HttpRequest request(const char* method, const std::string& path, std::string body) const;
  static void onTimer(evutil_socket_t, short, void* self);

  HttpClient& http_;
  const config::ConsulRegistry config_;
  const config::Service service_;
  const std::string token_;
  const std::chrono::milliseconds period_;
  AppHealth health_ = AppHealth::Critical;     // the app's, as last reported
  AppHealth published_ = AppHealth::Critical;  // what the agent's check says
  bool started_ = false;
  bool registered_ = false;  // the last exchange left the service registered
  bool restoring_ = false;   // a registration was lost or failed: the next one restores it
  // With an http check, remora's own view (its checks of the app, POST /healthcheck/fail)
  // reaches Consul as maintenance mode: the instance leaves discovery while it is critical.
  bool maintenance_ = false;
  bool stopping_ = false;
  std::function<void()> on_registered_;
  std::unique_ptr<HttpCall> call_;
  event* timer_;
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(10000)};
  RegistryStatus status_;
};

}  // namespace remora::discovery::consul

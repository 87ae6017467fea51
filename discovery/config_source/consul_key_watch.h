// ConsulKeyWatch: one Consul KV key read, then watched by blocking queries on its index.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "discovery/backoff.h"
#include "discovery/config_source/key_watch.h"
#include "discovery/consul/consul_provider.h"
#include "discovery/http_client.h"

namespace remora::discovery::config_source {

class ConsulKeyWatch : public KeyWatch {
 public:
  ConsulKeyWatch(HttpClient& http, const config::ConsulRegistry& consul, std::string key,
                 OnValue on_value);
  ~ConsulKeyWatch() override;
  ConsulKeyWatch(const ConsulKeyWatch&) = delete;
  ConsulKeyWatch& operator=(const ConsulKeyWatch&) = delete;

  void start() override { query(); }

 private:
  void query();
  void onResponse(const HttpResponse& response);
  void fail(const std::string& error);
  void arm(std::chrono::milliseconds wait);
  static void onTimer(evutil_socket_t, short, void* self);

  HttpClient& http_;
  const config::ConsulRegistry consul_;
  const std::string token_;
  const std::string key_;
  OnValue on_value_;
  uint64_t index_ = 0;
  bool read_once_ = false;
  std::optional<std::string> value_;  // the last value handed on
  std::unique_ptr<HttpCall> call_;
  event* timer_;
  consul::QueryPacer pacer_;
  consul::QueryPacer::Clock::time_point sent_{};
  Backoff backoff_{std::chrono::milliseconds(500), std::chrono::milliseconds(30000)};
};

}  // namespace remora::discovery::config_source

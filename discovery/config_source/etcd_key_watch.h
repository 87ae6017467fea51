// EtcdKeyWatch: one etcd key read, then watched from the next revision (EtcdWatchLoop).
#pragma once

#include "discovery/config_source/key_watch.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/etcd/etcd_watch_loop.h"

namespace remora::discovery::config_source {

class EtcdKeyWatch : public KeyWatch {
 public:
  EtcdKeyWatch(HttpClient& http, const config::EtcdRegistry& etcd, const std::string& key,
               OnValue on_value);
  void start() override { loop_.start(); }

 private:
  void handOn(std::optional<std::string> value);

  etcd::EtcdClient client_;
  OnValue on_value_;
  bool read_once_ = false;
  std::optional<std::string> value_;  // the last value handed on
  etcd::EtcdWatchLoop loop_;
};

}  // namespace remora::discovery::config_source

// KeyWatch: the config source's key, read and then watched in the registry's KV store (Consul or
// etcd); every change of its value, or of whether it exists, is handed on. Failures are logged
// and retried with backoff; nothing is handed on for them, so the registry going away never
// takes the config with it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "discovery/http_client.h"

namespace remora::discovery::config_source {

class KeyWatch {
 public:
  // The key's value; nullopt when the key does not exist. It runs within the watch's own reading
  // of a reply: it must not destroy the watch.
  using OnValue = std::function<void(std::optional<std::string> value)>;

  virtual ~KeyWatch() = default;
  virtual void start() = 0;
};

// The watch of `key` in the store of `config`'s config_source, through its registry; null when
// it has none.
std::unique_ptr<KeyWatch> makeKeyWatch(const config::Config& config, const std::string& key,
                                       HttpClient& http, KeyWatch::OnValue on_value);

}  // namespace remora::discovery::config_source

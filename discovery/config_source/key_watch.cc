// The config source's key watch for the store the config names.
#include "discovery/config_source/key_watch.h"

#include "discovery/config_source/consul_key_watch.h"
#include "discovery/config_source/etcd_key_watch.h"

namespace remora::discovery::config_source {

std::unique_ptr<KeyWatch> makeKeyWatch(const config::Config& config, const std::string& key,
                                       HttpClient& http, KeyWatch::OnValue on_value) {
  if (!config.config_source) return nullptr;
  if (config.config_source->store == config::ConfigSource::Store::Consul) {
    if (!config.registry.consul) return nullptr;
    return std::make_unique<ConsulKeyWatch>(http, *config.registry.consul, key,
                                            std::move(on_value));
  }
  if (!config.registry.etcd) return nullptr;
  return std::make_unique<EtcdKeyWatch>(http, *config.registry.etcd, key, std::move(on_value));
}

}  // namespace remora::discovery::config_source

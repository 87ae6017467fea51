// The etcd registry: the instances under the prefix, kept by the watch loop, and a view passed
// on whenever the watched services' instances changed.
#include "discovery/etcd/etcd_provider.h"

namespace remora::discovery::etcd {

EtcdProvider::EtcdProvider(HttpClient& http, const config::EtcdRegistry& config,
                           ProviderCallbacks callbacks)
    : config_(config),
      callbacks_(std::move(callbacks)),
      client_(http, config),
      instances_(config.prefix),
      publish_(http.base(),
               [this] {
                 if (instances_.changed()) publish();
               }),
      loop_(http, client_, config.prefix, prefixRangeEnd(config.prefix),
            "the prefix " + config.prefix,
            {.on_range =
                 [this](std::vector<KeyValue> kvs) {
                   instances_.replace(std::move(kvs));
                   have_range_ = true;
                   if (instances_.changed()) publish();
                 },
             .on_events =
                 [this](const std::vector<WatchEvent>& events) {
                   bool changed = false;
                   for (const WatchEvent& event : events) {
                     changed = (event.deleted ? instances_.erase(event.kv.key)
                                              : instances_.put(event.kv.key, event.kv.value)) ||
                               changed;
                   }
                   if (changed) publish_.request();
                 },
             .on_success =
                 [this] {
                   status_.healthy = true;
                   status_.last_error.clear();
                   status_.last_success = std::chrono::system_clock::now();
                 },
             .on_failure =
                 [this](const std::string& error) {
                   status_.healthy = false;
                   status_.last_error = error;
                   ++status_.errors;
                   callbacks_.on_error(error);
                 }}) {}

EtcdProvider::~EtcdProvider() = default;

void EtcdProvider::watch(const std::set<std::string>& services) {
  const bool first = services_.empty() && !loop_.started();
  services_ = services;
  instances_.watch(services);
  if (first) {
    loop_.start();
  } else if (have_range_ && instances_.changed()) {
    publish();
  }
}

void EtcdProvider::publish() {
  RegistryView view = instances_.takeView();
  view.source = "etcd";
  callbacks_.on_view(std::move(view));
}

}  // namespace remora::discovery::etcd

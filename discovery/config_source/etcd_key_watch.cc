// The config source's key in etcd: its value from the range, then from each watch event.
#include "discovery/config_source/etcd_key_watch.h"

namespace remora::discovery::config_source {

EtcdKeyWatch::EtcdKeyWatch(HttpClient& http, const config::EtcdRegistry& etcd,
                           const std::string& key, OnValue on_value)
    : client_(http, etcd),
      on_value_(std::move(on_value)),
      loop_(http, client_, key, "", "the key " + key,
            {.on_range =
                 [this](std::vector<etcd::KeyValue> kvs) {
                   handOn(kvs.empty() ? std::nullopt
                                      : std::optional<std::string>(std::move(kvs.front().value)));
                 },
             .on_events =
                 [this](const std::vector<etcd::WatchEvent>& events) {
                   // One key: its last change in the line is its value.
                   const etcd::WatchEvent& last = events.back();
                   handOn(last.deleted ? std::nullopt : std::optional<std::string>(last.kv.value));
                 },
             .on_success = [] {},
             .on_failure = [](const std::string&) {}}) {}

void EtcdKeyWatch::handOn(std::optional<std::string> value) {
  if (read_once_ && value == value_) return;
  read_once_ = true;
  value_ = value;
  on_value_(std::move(value));
}

}  // namespace remora::discovery::config_source

// EtcdInstances: the instances under the etcd prefix, each parsed once when its key changes,
// the views of the watched services built from them, and whether the next view would differ from
// the last one taken.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "discovery/endpoint_interner.h"
#include "discovery/etcd/etcd_json.h"
#include "discovery/registry_view.h"

namespace remora::discovery::etcd {

class EtcdInstances {
 public:
  explicit EtcdInstances(std::string prefix) : prefix_(std::move(prefix)) {}

  // The services views hold. A new set is a new view.
  void watch(const std::set<std::string>& services);

  // A key under the prefix was put or deleted. A value that does not parse leaves the instance
  // out (logged once, here). True when a watched service's instances changed.
  bool put(std::string_view key, std::string_view value);
  bool erase(std::string_view key);
  // Everything under the prefix as a range read it, replacing what was known.
  void replace(std::vector<KeyValue> kvs);

  // Whether a view now would differ from the last one taken (true before the first).
  bool changed() const;
  // The watched services' endpoints, each in key order, "instance" added to their metadata.
  RegistryView takeView();

 private:
  // What a key's value says, with the texts and metadata shared through an interner: instances
  // mostly carry the same few metadata maps.
  struct Instance {
    config::Address address;
    uint32_t weight = 1;
    bool healthy = true;
    std::shared_ptr<const config::Metadata> meta;
    std::shared_ptr<const std::string> health_reason;
    // Interned values are equal when they are the same.
    bool operator==(const Instance& other) const {
      return address.host == other.address.host && address.port == other.address.port &&
             weight == other.weight && healthy == other.healthy && meta == other.meta &&
             health_reason == other.health_reason;
    }
  };
  // Instances by service, then by the rest of their key (the instance id).
  using Services = std::map<std::string, std::map<std::string, Instance, std::less<>>, std::less<>>;
  using InstanceKey = std::pair<std::string, std::string>;  // service, id

  // The service and id of `key`; false for a key that is not `<prefix><service>/<id>`.
  bool split(std::string_view key, std::string_view& service, std::string_view& id) const;
  // Null when `value` is not an instance; logged when `watched`.
  std::optional<Instance> parse(std::string_view key, std::string_view value, bool watched);
  const Instance* find(const Services& services, std::string_view service,
                       std::string_view id) const;
  // Notes what (service, id) was before its first change since the last view.
  void remember(std::string_view service, std::string_view id, const Instance* before);
  // An instance was replaced or removed: what it alone held is swept from the interner, in time.
  void dropped();

  std::string prefix_;
  std::set<std::string, std::less<>> watched_;
  Services services_;
  EndpointInterner interner_;
  bool viewed_ = false;                            // a view was taken
  std::set<std::string, std::less<>> viewed_set_;  // the services the last view held
  // Watched instances changed since the last view, as they were in it (nullopt: absent).
  std::map<InstanceKey, std::optional<Instance>> before_;
  bool replaced_ = false;  // a range changed watched instances since the last view
  size_t dropped_ = 0;     // instances replaced or removed since the interner's last sweep
};

}  // namespace remora::discovery::etcd

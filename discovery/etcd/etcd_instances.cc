// The etcd instances: parsed once per change, compared with what the last view held, and the
// views built from them.
#include "discovery/etcd/etcd_instances.h"

#include "proxy/log.h"

namespace remora::discovery::etcd {

void EtcdInstances::watch(const std::set<std::string>& services) {
  watched_ = {services.begin(), services.end()};
}

bool EtcdInstances::split(std::string_view key, std::string_view& service,
                          std::string_view& id) const {
  if (!key.starts_with(prefix_)) return false;
  key.remove_prefix(prefix_.size());
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  service = key.substr(0, slash);
  id = key.substr(slash + 1);
  return true;
}

std::optional<EtcdInstances::Instance> EtcdInstances::parse(std::string_view key,
                                                            std::string_view value, bool watched) {
  std::string error;
  auto parsed = parseInstance(value, error);
  if (!parsed) {
    // One bad instance must not hide the others; it is left out and said so.
    if (watched) {
      LOG_WARN("etcd: %.*s: %s", static_cast<int>(key.size()), key.data(), error.c_str());
    }
    return std::nullopt;
  }
  Instance instance;
  instance.address = std::move(parsed->endpoint.address);
  instance.weight = parsed->endpoint.weight;
  instance.healthy = parsed->healthy;
  instance.meta = interner_.metadata(parsed->endpoint.meta);
  instance.health_reason = interner_.text(parsed->health_reason);
  return instance;
}

const EtcdInstances::Instance* EtcdInstances::find(const Services& services,
                                                   std::string_view service,
                                                   std::string_view id) const {
  auto instances = services.find(service);
  if (instances == services.end()) return nullptr;
  auto it = instances->second.find(id);
  return it == instances->second.end() ? nullptr : &it->second;
}

void EtcdInstances::remember(std::string_view service, std::string_view id,
                             const Instance* before) {
  InstanceKey key(service, id);
  if (before_.contains(key)) return;
  std::optional<Instance> was;
  if (before != nullptr) was = *before;
  before_.emplace(std::move(key), std::move(was));
}

void EtcdInstances::dropped() {
  // Interned values outlive the instances that held them until a sweep; sweeping once per as
  // many drops as there are values keeps that linear.
  if (++dropped_ < interner_.size()) return;
  interner_.sweep();
  dropped_ = 0;
}

bool EtcdInstances::put(std::string_view key, std::string_view value) {
  std::string_view service;
  std::string_view id;
  if (!split(key, service, id)) return false;
  const bool watched = watched_.contains(service);
  std::optional<Instance> parsed = parse(key, value, watched);
  const Instance* current = find(services_, service, id);
  if (!parsed) return current != nullptr && erase(key);
  if (current != nullptr && *current == *parsed) return false;
  if (watched) remember(service, id, current);
  auto instances = services_.find(service);
  if (instances == services_.end()) {
    instances = services_.try_emplace(std::string(service)).first;
  }
  // try_emplace leaves `parsed` as it is when the id is there already.
  auto [it, added] = instances->second.try_emplace(std::string(id), std::move(*parsed));
  if (!added) {
    it->second = std::move(*parsed);
    dropped();
  }
  return watched;
}

bool EtcdInstances::erase(std::string_view key) {
  std::string_view service;
  std::string_view id;
  if (!split(key, service, id)) return false;
  auto instances = services_.find(service);
  if (instances == services_.end()) return false;
  auto it = instances->second.find(id);
  if (it == instances->second.end()) return false;
  const bool watched = watched_.contains(service);
  if (watched) remember(service, id, &it->second);
  instances->second.erase(it);
  if (instances->second.empty()) services_.erase(instances);
  dropped();
  return watched;
}

void EtcdInstances::replace(std::vector<KeyValue> kvs) {
  Services fresh;
  for (const KeyValue& kv : kvs) {
    std::string_view service;
    std::string_view id;
    if (!split(kv.key, service, id)) continue;
    auto parsed = parse(kv.key, kv.value, watched_.contains(service));
    if (!parsed) continue;
    auto instances = fresh.find(service);
    if (instances == fresh.end()) instances = fresh.try_emplace(std::string(service)).first;
    instances->second.insert_or_assign(std::string(id), std::move(*parsed));
  }
  kvs.clear();
  // What changed for the watched services: with nothing else changed since the last view, that
  // the view changes is all there is to know; otherwise each change is remembered as events'
  // are, so that changes undone by this read are seen as undone.
  const bool since_view = !before_.empty();
  const std::map<std::string, Instance, std::less<>> none;
  for (const std::string& service : watched_) {
    if (replaced_) break;
    auto old_it = services_.find(service);
    auto new_it = fresh.find(service);
    const auto& old_instances = old_it == services_.end() ? none : old_it->second;
    const auto& new_instances = new_it == fresh.end() ? none : new_it->second;
    auto a = old_instances.begin();
    auto b = new_instances.begin();
    while (!replaced_ && (a != old_instances.end() || b != new_instances.end())) {
      const Instance* before = nullptr;
      std::string_view id;
      if (b == new_instances.end() || (a != old_instances.end() && a->first < b->first)) {
        before = &a->second;
        id = (a++)->first;
      } else if (a == old_instances.end() || b->first < a->first) {
        id = (b++)->first;
      } else {
        const bool same = a->second == b->second;
        before = &a->second;
        id = a->first;
        ++a;
        ++b;
        if (same) continue;
      }
      if (since_view) {
        remember(service, id, before);
      } else {
        replaced_ = true;
      }
    }
  }
  services_ = std::move(fresh);
  interner_.sweep();
  dropped_ = 0;
}

bool EtcdInstances::changed() const {
  if (!viewed_ || replaced_ || viewed_set_ != watched_) return true;
  for (const auto& [key, before] : before_) {
    const Instance* now = find(services_, key.first, key.second);
    if (before.has_value() != (now != nullptr)) return true;
    if (now != nullptr && !(*now == *before)) return true;
  }
  return false;
}

RegistryView EtcdInstances::takeView() {
  RegistryView view;
  for (const std::string& service : watched_) {
    std::vector<RegistryEndpoint>& endpoints = view.services[service];
    auto instances = services_.find(service);
    if (instances == services_.end()) continue;
    endpoints.reserve(instances->second.size());
    for (const auto& [id, instance] : instances->second) {
      RegistryEndpoint& endpoint = endpoints.emplace_back();
      endpoint.endpoint.address = instance.address;
      endpoint.endpoint.weight = instance.weight;
      endpoint.endpoint.meta = *instance.meta;
      endpoint.endpoint.meta.emplace("instance", id);
      endpoint.healthy = instance.healthy;
      endpoint.health_reason = *instance.health_reason;
    }
  }
  viewed_ = true;
  viewed_set_ = watched_;
  before_.clear();
  replaced_ = false;
  interner_.sweep();
  dropped_ = 0;
  return view;
}

}  // namespace remora::discovery::etcd

// Snapshot lookups.
#include "discovery/snapshot.h"

namespace remora {

const ListenerInfo* Snapshot::findListener(std::string_view name) const {
  for (const auto& listener : listeners) {
    if (listener.config->name == name) return &listener;
  }
  return nullptr;
}

const ClusterInfo* Snapshot::findCluster(std::string_view name) const {
  for (const auto& cluster : clusters) {
    if (cluster.config->name == name) return &cluster;
  }
  return nullptr;
}

}  // namespace remora

// Snapshot and loaded-config lookups, and the shared empty values of endpoints.
#include "discovery/snapshot.h"

namespace remora {

const std::shared_ptr<const config::Metadata>& EndpointInfo::emptyMetadata() {
  static const std::shared_ptr<const config::Metadata> empty =
      std::make_shared<const config::Metadata>();
  return empty;
}

const std::shared_ptr<const std::string>& EndpointInfo::emptyText() {
  static const std::shared_ptr<const std::string> empty = std::make_shared<const std::string>();
  return empty;
}

void SubsetInfo::addMember(const std::vector<EndpointInfo>& endpoints, uint32_t index) {
  const uint32_t weight = endpoints[index].weight;
  const bool was_equal = equal_weights;
  equal_weights = equal_weights && (members.empty() || weight == endpoints[members[0]].weight);
  if (was_equal && !equal_weights) {
    // The first unequal weight: the sums so far are those of equal weights.
    cumulative_weights.clear();
    const uint64_t first = endpoints[members[0]].weight;
    for (size_t i = 0; i < members.size(); ++i) cumulative_weights.push_back(first * (i + 1));
  }
  members.push_back(index);
  total_weight += weight;
  if (!equal_weights) cumulative_weights.push_back(total_weight);
}

void SubsetInfo::clearMembers() {
  members.clear();
  total_weight = 0;
  equal_weights = true;
  cumulative_weights.clear();
}

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

std::vector<TlsFileFingerprint> LoadedConfig::tlsFiles() const {
  std::vector<TlsFileFingerprint> files;
  for (const auto& tls : listener_tls) {
    if (tls != nullptr) files.insert(files.end(), tls->files().begin(), tls->files().end());
  }
  for (const auto& tls : cluster_tls) {
    if (tls != nullptr) files.insert(files.end(), tls->files().begin(), tls->files().end());
  }
  return files;
}

}  // namespace remora

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

// Snapshot and loaded-config lookups.
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

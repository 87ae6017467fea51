// Interning of endpoint metadata and texts, and the sweep of what no snapshot holds.
#include "discovery/endpoint_interner.h"

#include "discovery/snapshot.h"

namespace remora::discovery {

size_t EndpointInterner::MetadataHash::operator()(const config::Metadata& meta) const {
  size_t hash = meta.size();
  for (const auto& [key, value] : meta) {
    hash = hash * 31 + std::hash<std::string_view>()(key);
    hash = hash * 31 + std::hash<std::string_view>()(value);
  }
  return hash;
}

std::shared_ptr<const config::Metadata> EndpointInterner::metadata(const config::Metadata& meta) {
  if (meta.empty()) return EndpointInfo::emptyMetadata();
  auto it = metadata_.find(meta);
  if (it != metadata_.end()) return *it;
  return *metadata_.insert(std::make_shared<const config::Metadata>(meta)).first;
}

std::shared_ptr<const std::string> EndpointInterner::text(std::string_view text) {
  if (text.empty()) return EndpointInfo::emptyText();
  auto it = texts_.find(text);
  if (it != texts_.end()) return *it;
  return *texts_.insert(std::make_shared<const std::string>(text)).first;
}

void EndpointInterner::sweep() {
  // A count of 1 is the interner's own reference. Workers only ever lower the counts, so a value
  // read as still held is at worst kept one sweep longer.
  std::erase_if(metadata_, [](const auto& meta) { return meta.use_count() == 1; });
  std::erase_if(texts_, [](const auto& text) { return text.use_count() == 1; });
}

}  // namespace remora::discovery

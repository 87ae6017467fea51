// RFC 2782 ordering and the SRV -> endpoint mapping; pure functions, no I/O.
#include "discovery/dns/srv_order.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace remora::discovery::dns {
namespace {

bool usable(const SrvRecord& record) { return record.target != "." && !record.addresses.empty(); }

uint32_t saturatingAdd(uint32_t a, uint32_t b) {
  const uint64_t sum = static_cast<uint64_t>(a) + b;
  return static_cast<uint32_t>(std::min<uint64_t>(sum, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

std::vector<SrvRecord> rfc2782Order(std::vector<SrvRecord> records, std::mt19937_64& random) {
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> ordered;
  ordered.reserve(records.size());
  auto begin = records.begin();
  while (begin != records.end()) {
    const uint16_t priority = begin->priority;
    auto end = std::find_if(begin, records.end(),
                            [priority](const SrvRecord& r) { return r.priority != priority; });
    std::vector<SrvRecord> group(std::make_move_iterator(begin), std::make_move_iterator(end));
    // "Arrange them in any order, except that those with weight 0 are placed at the beginning":
    // shuffled first, so that weight-0 records do not always go in the server's order.
    std::shuffle(group.begin(), group.end(), random);
    std::stable_partition(group.begin(), group.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
      uint64_t sum = 0;
      for (const SrvRecord& r : group) sum += r.weight;
      const uint64_t pick = std::uniform_int_distribution<uint64_t>(0, sum)(random);
      uint64_t running = 0;
      size_t chosen = group.size() - 1;
      for (size_t i = 0; i < group.size(); ++i) {
        running += group[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      ordered.push_back(std::move(group[chosen]));
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    begin = end;
  }
  return ordered;
}

std::vector<RegistryEndpoint> srvEndpoints(const std::vector<SrvRecord>& records) {
  std::map<uint16_t, std::vector<const SrvRecord*>> priorities;
  for (const SrvRecord& record : records) {
    if (usable(record)) priorities[record.priority].push_back(&record);
  }
  std::vector<std::pair<uint16_t, RegistryEndpoint>> endpoints;
  std::map<std::string, size_t> seen;  // "ip:port" -> index in endpoints
  bool lowest = true;
  for (const auto& [priority, group] : priorities) {
    const bool all_zero =
        std::all_of(group.begin(), group.end(), [](const SrvRecord* r) { return r->weight == 0; });
    const std::string priority_text = std::to_string(priority);
    for (const SrvRecord* record : group) {
      const uint64_t scaled =
          (all_zero ? 1 : static_cast<uint64_t>(record->weight)) * kSrvWeightScale;
      const auto weight = static_cast<uint32_t>(
          scaled == 0 ? 1 : std::max<uint64_t>(1, scaled / record->addresses.size()));
      for (const std::string& ip : record->addresses) {
        config::Address address{ip, record->port};
        auto [it, inserted] = seen.emplace(address.text(), endpoints.size());
        if (!inserted) {
          auto& [seen_priority, endpoint] = endpoints[it->second];
          if (seen_priority == priority) {
            endpoint.endpoint.weight = saturatingAdd(endpoint.endpoint.weight, weight);
          }
          continue;
        }
        RegistryEndpoint endpoint;
        endpoint.endpoint.address = std::move(address);
        endpoint.endpoint.weight = weight;
        endpoint.endpoint.meta = {{"priority", priority_text}, {"target", record->target}};
        endpoint.healthy = lowest;
        if (!lowest) endpoint.health_reason = "dns: backup (priority " + priority_text + ")";
        endpoints.emplace_back(priority, std::move(endpoint));
      }
    }
    lowest = false;
  }
  std::sort(endpoints.begin(), endpoints.end(), [](const auto& a, const auto& b) {
    const config::Address& x = a.second.endpoint.address;
    const config::Address& y = b.second.endpoint.address;
    return std::tie(a.first, x.host, x.port) < std::tie(b.first, y.host, y.port);
  });
  std::vector<RegistryEndpoint> out;
  out.reserve(endpoints.size());
  for (auto& entry : endpoints) out.push_back(std::move(entry.second));
  return out;
}

}  // namespace remora::discovery::dns

// Weighted choice among a route's targets, and the stable hash sticky canaries use.
#include "filters/router/split.h"

namespace remora::router {

int pickTargetAt(const std::vector<RouteTarget>& targets, uint64_t point64) {
  uint64_t total = 0;
  for (const auto& target : targets) total += target.weight;
  // No target has weight: the first, whose emptiness the router then reports.
  if (total == 0) return targets.empty() ? -1 : 0;
  uint64_t point = static_cast<uint64_t>((static_cast<unsigned __int128>(point64) * total) >> 64);
  for (size_t i = 0; i < targets.size(); ++i) {
    if (point < targets[i].weight) return static_cast<int>(i);
    point -= targets[i].weight;
  }
  return -1;
}

int pickTarget(const std::vector<RouteTarget>& targets, uint64_t (*random)()) {
  if (targets.size() == 1) return targets[0].weight > 0 ? 0 : -1;
  uint64_t total = 0;
  for (const auto& target : targets) total += target.weight;
  return total == 0 ? pickTargetAt(targets, 0) : pickTargetAt(targets, random());
}

uint64_t stickyPoint(std::string_view key) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  // splitmix64's finaliser: FNV's high bits change little between keys that differ at the end.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebull;
  hash ^= hash >> 31;
  return hash;
}

std::string_view cookieValue(std::string_view header, std::string_view name, bool& found) {
  found = false;
  while (!header.empty()) {
    const size_t semicolon = header.find(';');
    std::string_view pair = header.substr(0, semicolon);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    const size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      std::string_view value = pair.substr(equals + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      found = true;
      return value;
    }
    if (semicolon == std::string_view::npos) break;
    header.remove_prefix(semicolon + 1);
  }
  return {};
}

std::string_view requestCookie(const RequestHeaders& request, std::string_view name, bool& found) {
  found = false;
  for (const HeaderField& field : request.headers) {
    if (field.name != "cookie") continue;
    const std::string_view value = cookieValue(field.value, name, found);
    if (found) return value;
  }
  return {};
}

}  // namespace remora::router

// The path index of a virtual host's routes: a byte trie of prefixes and exact paths, and an
// RE2::Set of the regexes, combined so that config order decides as a linear scan would.
#include "proxy/route_index.h"

#include <algorithm>

#include "proxy/route_table.h"

namespace remora {
namespace {

// The DFA of thousands of alternatives needs more than RE2's default 8 MiB before it gives up
// (and the index falls back to one regex at a time); the budget grows with the regexes and is
// spent only as the states are met.
constexpr int64_t kRegexSetBaseMemory = int64_t{8} << 20;
constexpr int64_t kRegexSetMemoryPerPattern = int64_t{16} << 10;
constexpr int64_t kRegexSetMaxMemory = int64_t{256} << 20;

// Up to this many regexes, trying each in turn is faster than the set's two passes (whether any
// matches, then which), so the set is not built.
constexpr size_t kRegexesTriedInTurn = 4;

// The methods and headers of `route` match (its path already does).
bool conditionsMatch(const CompiledRoute& route, const RequestHeaders& request) {
  const config::RouteMatch& match = route.config->match;
  if (!methodMatches(match, request.method)) return false;
  for (const auto& header : match.headers) {
    if (!headerMatches(header, request.headers)) return false;
  }
  return true;
}

// The first route of `candidates` (ascending) below `best` whose conditions match; `best` is
// lowered to it.
void takeFirst(const std::vector<uint32_t>& candidates, const std::vector<CompiledRoute>& routes,
               const RequestHeaders& request, uint32_t& best) {
  for (uint32_t route : candidates) {
    if (route >= best) return;
    if (conditionsMatch(routes[route], request)) {
      best = route;
      return;
    }
  }
}

}  // namespace

RouteIndex::RouteIndex(const std::vector<CompiledRoute>& routes, int64_t regex_set_memory)
    : trie_(1) {
  for (uint32_t i = 0; i < routes.size(); ++i) {
    const config::RouteMatch& match = routes[i].config->match;
    switch (match.path_kind) {
      case config::RouteMatch::PathKind::Prefix:
        trie_[insert(match.path)].prefix_routes.push_back(i);
        break;
      case config::RouteMatch::PathKind::Exact:
        trie_[insert(match.path)].exact_routes.push_back(i);
        break;
      case config::RouteMatch::PathKind::Regex:
        regex_routes_.push_back(i);
        break;
    }
  }
  if (regex_routes_.size() <= kRegexesTriedInTurn) return;
  re2::RE2::Options options;
  options.set_log_errors(false);
  if (regex_set_memory <= 0) {
    regex_set_memory = std::min(
        kRegexSetMaxMemory, kRegexSetBaseMemory + kRegexSetMemoryPerPattern *
                                                      static_cast<int64_t>(regex_routes_.size()));
  }
  options.set_max_mem(regex_set_memory);
  auto set = std::make_unique<re2::RE2::Set>(options, re2::RE2::ANCHOR_BOTH);
  for (uint32_t route : regex_routes_) {
    if (set->Add(routes[route].config->match.path, nullptr) < 0) return;
  }
  if (set->Compile()) regex_set_ = std::move(set);
}

uint32_t RouteIndex::insert(std::string_view key) {
  uint32_t node = 0;
  for (char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    auto& children = trie_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<uint32_t>(trie_.size());
    children.insert(it, {byte, next});
    trie_.emplace_back();  // invalidates `children`; not used again
    node = next;
  }
  return node;
}

int64_t RouteIndex::firstMatch(const std::vector<CompiledRoute>& routes, std::string_view path,
                               const RequestHeaders& request) const {
  uint32_t best = UINT32_MAX;
  uint32_t node = 0;
  takeFirst(trie_[0].prefix_routes, routes, request, best);
  size_t consumed = 0;
  for (; consumed < path.size(); ++consumed) {
    const auto byte = static_cast<unsigned char>(path[consumed]);
    const auto& children = trie_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    takeFirst(trie_[node].prefix_routes, routes, request, best);
  }
  if (consumed == path.size()) takeFirst(trie_[node].exact_routes, routes, request, best);
  if (!regex_routes_.empty() && regex_routes_.front() < best) {
    const int64_t regex = firstRegexMatch(routes, path, request, best);
    if (regex >= 0) best = static_cast<uint32_t>(regex);
  }
  return best == UINT32_MAX ? -1 : static_cast<int64_t>(best);
}

int64_t RouteIndex::firstRegexMatch(const std::vector<CompiledRoute>& routes, std::string_view path,
                                    const RequestHeaders& request, uint32_t below) const {
  const re2::StringPiece text(path.data(), path.size());
  if (regex_set_ != nullptr) {
    // Asking only whether any regex matches stops at the first match and allocates nothing;
    // which ones match costs RE2 an allocation, paid only when one does. Kept even when the trie
    // found a route already: with a catch-all last (the usual table) it always has, and a path
    // that no regex matches would pay the full pass.
    re2::RE2::Set::ErrorInfo error{};
    if (!regex_set_->Match(text, nullptr, &error) && error.kind == re2::RE2::Set::kNoError) {
      return -1;
    }
    if (error.kind == re2::RE2::Set::kNoError) {
      thread_local std::vector<int> matched;
      if (regex_set_->Match(text, &matched, &error)) {
        uint32_t best = below;
        for (int pattern : matched) {
          const uint32_t route = regex_routes_[static_cast<size_t>(pattern)];
          if (route < best && conditionsMatch(routes[route], request)) best = route;
        }
        return best == below ? -1 : static_cast<int64_t>(best);
      }
      if (error.kind == re2::RE2::Set::kNoError) return -1;
    }
    // The DFA ran out of memory for this text: the same answer, one regex at a time.
  }
  for (uint32_t route : regex_routes_) {
    if (route >= below) break;
    if (re2::RE2::FullMatch(text, *routes[route].regex) &&
        conditionsMatch(routes[route], request)) {
      return route;
    }
  }
  return -1;
}

}  // namespace remora

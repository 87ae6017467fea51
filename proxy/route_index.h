// The routes of one virtual host indexed by path, so that the first matching route of thousands
// is found without trying each: prefixes and exact paths in one byte trie, regexes in one
// RE2::Set. Built on the main thread once per config; read by every worker.
#pragma once

#include <re2/set.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/message.h"

namespace remora {

struct CompiledRoute;

class RouteIndex {
 public:
  // Indexes `routes` by their path rules; nothing of them is kept: matching is given the routes
  // again, in the same order (a snapshot's copy of the configured ones). `regex_set_memory`
  // bounds the regex set's program and DFA (0: sized by the number of regexes); beyond it each
  // regex is tried in turn, with the same answers.
  explicit RouteIndex(const std::vector<CompiledRoute>& routes, int64_t regex_set_memory = 0);

  // The index of the first route of `routes` (config order) whose path rule matches `path` (no
  // query) and whose methods and headers match `request`; -1 for none. The same answer as
  // trying each route in turn.
  int64_t firstMatch(const std::vector<CompiledRoute>& routes, std::string_view path,
                     const RequestHeaders& request) const;

  // Whether the regexes are matched together (false: a few regexes, or the set could not be
  // built within its memory, and each regex is tried in turn).
  bool regexSetBuilt() const { return regex_set_ != nullptr; }

 private:
  struct TrieNode {
    std::vector<uint32_t> prefix_routes;  // routes whose prefix ends at this node, ascending
    std::vector<uint32_t> exact_routes;   // routes whose exact path ends here, ascending
    // (byte, node index), sorted by byte: most nodes have one child.
    std::vector<std::pair<unsigned char, uint32_t>> children;
  };

  uint32_t insert(std::string_view key);
  int64_t firstRegexMatch(const std::vector<CompiledRoute>& routes, std::string_view path,
                          const RequestHeaders& request, uint32_t below) const;

  std::vector<TrieNode> trie_;          // [0] is the root (the empty prefix)
  std::vector<uint32_t> regex_routes_;  // ascending; the set's pattern i is route regex_routes_[i]
  std::unique_ptr<re2::RE2::Set> regex_set_;
};

}  // namespace remora

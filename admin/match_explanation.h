// Why /explain's request did or did not reach a virtual host and a route, in words. The verdicts
// come from the data path's own conditions (RouteTable::chooseHost, pathMatches, methodMatches,
// headerMatches: what selectHost and routeMatches are made of); these only put them into words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/message.h"
#include "proxy/route_table.h"

namespace remora::admin {

// Every condition of `route` that `request` fails, in the order routeMatches checks them (path,
// method, headers), each as a sentence; empty exactly when routeMatches is true.
std::vector<std::string> routeMismatches(const CompiledRoute& route, const RequestHeaders& request);

// The virtual host `table` selects for `authority`, and how.
struct HostSelection {
  const CompiledVirtualHost* host = nullptr;  // what selectHost returns
  std::string rule;    // "exact", "suffix", "prefix", "*" (the catch-all) or "none"
  std::string domain;  // the deciding domain, lowercased; "" for "none"
  std::string why;     // a sentence
};
HostSelection explainHostSelection(const RouteTable& table, std::string_view authority);

}  // namespace remora::admin

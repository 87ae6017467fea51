// GET /explain: a dry run of one request against the current snapshot, on the main thread: the
// listener, the virtual host and why, every route and why it did or did not match, the action,
// the split's weights, every candidate endpoint and the one a pick would choose now.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "discovery/snapshot.h"
#include "proxy/balancer_loads.h"

namespace remora::admin {

struct ExplainReply {
  int status = 200;  // 400 for a bad query, a missing or an unknown listener
  nlohmann::json body;
};

// `query` is the request's query string without '?' (see parseExplainQuery). The request is read
// by the HTTP/1.1 codec's code and decorated as the stream does, and matched by RouteTable's, so
// that the dry run cannot disagree with the data path.
// `loads` (may be null) is what the workers' balancers last reported, shown per endpoint.
ExplainReply explain(const Snapshot& snapshot, std::string_view query,
                     const BalancerLoads* loads = nullptr);

}  // namespace remora::admin

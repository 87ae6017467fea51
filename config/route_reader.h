// Reads a listener's routing: virtual hosts, routes, their matches and actions (cluster, split,
// direct_response), timeouts, retries and header edits.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// One per listener. Clusters named by routes are added to `cluster_refs`; the loader checks
// them once every cluster is read.
class RouteReader {
 public:
  RouteReader(YamlReader& reader, References& cluster_refs)
      : reader_(reader), cluster_refs_(cluster_refs) {}

  void readVirtualHosts(const Located& at, std::vector<VirtualHost>& out);
  void readRoutes(const Located& at, std::vector<Route>& out);

 private:
  std::optional<Route> readRoute(const Located& at);
  void readMatch(const Located& at, RouteMatch& match);
  std::optional<std::string> methodName(const Located& at);
  void readSplit(const Located& at, std::vector<WeightedCluster>& out);
  std::optional<DirectResponse> readDirectResponse(const Located& at);

  YamlReader& reader_;
  References& cluster_refs_;
};

}  // namespace remora::config

// Reads a listener's routing: virtual hosts, routes, their matches and actions (cluster, split,
// direct_response), timeouts, retries, header edits and filters.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/field_readers.h"
#include "config/references.h"
#include "config/yaml_reader.h"

namespace remora::config {

// One per listener, which route names must be unique in. Clusters named by routes are added to
// `cluster_refs`; the loader checks them once every cluster is read.
class RouteReader {
 public:
  RouteReader(YamlReader& reader, References& cluster_refs)
      : reader_(reader), cluster_refs_(cluster_refs), route_names_("route name") {}

  void readVirtualHosts(const Located& at, std::vector<VirtualHost>& out);
  void readRoutes(const Located& at, std::vector<Route>& out);

 private:
  std::optional<Route> readRoute(const Located& at);
  void readName(const Located& at, std::string& out);
  void readMatch(const Located& at, RouteMatch& match);
  std::optional<std::string> methodName(const Located& at);
  void readSplit(const Located& at, std::vector<WeightedCluster>& out);
  std::optional<DirectResponse> readDirectResponse(const Located& at);

  YamlReader& reader_;
  References& cluster_refs_;
  UniqueNames route_names_;  // across all the listener's virtual hosts
};

}  // namespace remora::config

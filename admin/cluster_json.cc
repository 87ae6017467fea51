// An endpoint's state as the admin's JSON shows it.
#include "admin/cluster_json.h"

#include <string>

namespace remora::admin {

nlohmann::json endpointJson(const EndpointInfo& endpoint, bool in_rotation, bool panic) {
  std::string reason = "in rotation";
  if (!endpoint.healthy) {
    reason = *endpoint.health_reason;
  } else if (endpoint.ejected) {
    reason = "outlier: " + *endpoint.ejection;
  }
  if (panic && (!endpoint.healthy || endpoint.ejected) && in_rotation) {
    reason = "in rotation (panic); " + reason;
  }
  nlohmann::json entry = {{"address", endpoint.key},    {"weight", endpoint.weight},
                          {"meta", *endpoint.meta},     {"healthy", endpoint.healthy},
                          {"in_rotation", in_rotation}, {"reason", reason}};
  if (!endpoint.health_check->empty()) entry["health_check"] = *endpoint.health_check;
  if (endpoint.ejected) {
    entry["ejected"] = true;
    entry["ejection"] = *endpoint.ejection;
  }
  return entry;
}

}  // namespace remora::admin

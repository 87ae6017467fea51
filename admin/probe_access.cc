// The probe listener's allow-list, one place for the paths the kubelet and Prometheus read.
#include "admin/probe_access.h"

#include <array>

namespace remora::admin {

ProbeVerdict probeVerdict(evhttp_cmd_type method, std::string_view path) {
  static constexpr std::array<std::string_view, 3> kPaths = {"/ready", "/healthz", "/metrics"};
  bool known = false;
  for (std::string_view allowed : kPaths) known = known || path == allowed;
  if (!known) return ProbeVerdict::kNotFound;
  if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
    return ProbeVerdict::kMethodNotAllowed;
  }
  return ProbeVerdict::kServe;
}

}  // namespace remora::admin

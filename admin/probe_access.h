// What the read-only probe listener answers: GET and HEAD of /ready, /healthz and /metrics.
#pragma once

#include <event2/http.h>

#include <string_view>

namespace remora::admin {

enum class ProbeVerdict {
  kServe,             // one of the probe's paths, read with GET or HEAD
  kNotFound,          // any other path, whatever the method: the full admin's are not shown
  kMethodNotAllowed,  // one of the probe's paths with another method (405, `allow: GET, HEAD`)
};

// The probe listener faces the pod network: nothing it serves may change remora's state.
ProbeVerdict probeVerdict(evhttp_cmd_type method, std::string_view path);

inline constexpr const char* kProbeAllow = "GET, HEAD";

}  // namespace remora::admin

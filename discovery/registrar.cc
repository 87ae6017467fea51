// Names of the local app's health states, as logs and registries spell them.
#include "discovery/registrar.h"

namespace remora::discovery {

const char* appHealthName(AppHealth health) {
  switch (health) {
    case AppHealth::Passing:
      return "passing";
    case AppHealth::Warning:
      return "warning";
    case AppHealth::Critical:
      return "critical";
  }
  return "critical";
}

}  // namespace remora::discovery

// Names of pool failures, for logs and access log reasons.
#include "proxy/pool/connection_pool.h"

namespace remora {

const char* poolFailureName(PoolFailure failure) {
  switch (failure) {
    case PoolFailure::Overflow:
      return "upstream_overflow";
    case PoolFailure::PendingTimeout:
      return "upstream_pending_timeout";
    case PoolFailure::ConnectFailure:
      return "upstream_connect_failure";
    case PoolFailure::ConnectTimeout:
      return "upstream_connect_timeout";
  }
  return "upstream_failure";
}

}  // namespace remora

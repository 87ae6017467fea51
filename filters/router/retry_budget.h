// The retry budget: how many of a cluster's requests in flight may be retrying at once, so that
// retries cannot multiply an outage.
#pragma once

#include <cstdint>

#include "config/config.h"

namespace remora::router {

// One cluster's counts on one worker (kept in its ClusterState).
struct BudgetCounts {
  uint32_t in_flight = 0;  // requests routed to the cluster and not complete
  uint32_t retrying = 0;   // of those, the ones that have been retried
};

// Whether one more request may start retrying.
bool budgetAllows(const config::RetryBudget& budget, const BudgetCounts& counts);

}  // namespace remora::router

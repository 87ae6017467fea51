// Retry budget arithmetic.
#include "filters/router/retry_budget.h"

#include <algorithm>

namespace remora::router {

bool budgetAllows(const config::RetryBudget& budget, const BudgetCounts& counts) {
  const uint64_t by_share = uint64_t{counts.in_flight} * budget.percent / 100;
  const uint64_t allowed = std::max<uint64_t>(budget.min_concurrency, by_share);
  return counts.retrying < allowed;
}

}  // namespace remora::router

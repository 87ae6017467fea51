// Retry budget arithmetic and the per-worker table of counts.
#include "filters/retry/retry_budget.h"

#include <algorithm>

namespace remora::retry {

bool budgetAllows(const config::RetryBudget& budget, const BudgetCounts& counts) {
  const uint64_t by_share = uint64_t{counts.in_flight} * budget.percent / 100;
  const uint64_t allowed = std::max<uint64_t>(budget.min_concurrency, by_share);
  return counts.retrying < allowed;
}

BudgetCounts& RetryBudgets::forCluster(std::string_view cluster) {
  auto it = counts_.find(cluster);  // no string made per request
  if (it == counts_.end()) it = counts_.emplace(std::string(cluster), BudgetCounts{}).first;
  return it->second;
}

}  // namespace remora::retry

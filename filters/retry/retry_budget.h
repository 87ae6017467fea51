// Per-worker retry budgets: how many requests to each cluster are in flight and how many of
// them are retrying, so that a retry is refused once a cluster's budget is spent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.h"
#include "proxy/stats.h"

namespace remora::retry {

struct BudgetCounts {
  uint32_t in_flight = 0;  // requests routed to the cluster and not complete
  uint32_t retrying = 0;   // of those, the ones that have been retried
};

// Whether one more request may start retrying.
bool budgetAllows(const config::RetryBudget& budget, const BudgetCounts& counts);

// Owned by one worker and used only on its thread. Counts survive snapshot swaps (they are keyed
// by cluster name) and the references handed out stay valid for the worker's life.
class RetryBudgets {
 public:
  BudgetCounts& forCluster(std::string_view cluster);

 private:
  std::unordered_map<std::string, BudgetCounts, stats::TransparentHash, std::equal_to<>> counts_;
};

}  // namespace remora::retry

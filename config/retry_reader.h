// Reads a route's `retry:` block and a cluster's `retry_budget:`, and names the retry
// conditions for /config_dump.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace remora::config {

// {attempts, on, per_try_timeout, backoff: {base, max}, max_body_bytes}
std::optional<RetryPolicy> readRetryPolicy(YamlReader& reader, const Located& at);

// {percent, min_concurrency}
void readRetryBudget(YamlReader& reader, const Located& at, RetryBudget& out);

// The `on` entries of a policy as a user would write them: condition names, then status codes.
std::vector<std::string> retryConditionNames(const RetryPolicy& policy);

}  // namespace remora::config

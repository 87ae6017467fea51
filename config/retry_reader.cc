// Retry policy reading: condition names, status codes, bounds of attempts, backoff and body size.
#include "config/retry_reader.h"

#include <array>
#include <charconv>
#include <utility>

namespace remora::config {
namespace {

constexpr uint32_t kMaxAttempts = 10;
constexpr uint64_t kMaxBodyBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxMinConcurrency = 1'000'000;
// With no `max`, the backoff grows to ten times its base.
constexpr int kDefaultMaxOverBase = 10;

constexpr std::array<std::pair<const char*, uint32_t>, 11> kConditions = {{
    {"5xx", kRetryOn5xx},
    {"gateway-error", kRetryOnGatewayError},
    {"reset", kRetryOnReset},
    {"connect-failure", kRetryOnConnectFailure},
    {"refused-stream", kRetryOnRefusedStream},
    {"retriable-4xx", kRetryOnRetriable4xx},
    {"cancelled", kRetryOnGrpcCancelled},
    {"deadline-exceeded", kRetryOnGrpcDeadlineExceeded},
    {"resource-exhausted", kRetryOnGrpcResourceExhausted},
    {"internal", kRetryOnGrpcInternal},
    {"unavailable", kRetryOnGrpcUnavailable},
}};

std::string knownConditions() {
  std::string names;
  for (const auto& [name, bit] : kConditions)
    names += (names.empty() ? "" : ", ") + std::string(name);
  return names + ", or a status code 100-599";
}

// One `on` entry: a condition name or an HTTP status code.
void readCondition(YamlReader& reader, const Located& at, RetryPolicy& policy) {
  std::optional<std::string> text = reader.string(at, "retry condition");
  if (!text) return;
  for (const auto& [name, bit] : kConditions) {
    if (*text == name) {
      policy.on |= bit;
      return;
    }
  }
  int code = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, code);
  if (ec == std::errc() && ptr == end && code >= 100 && code <= 599) {
    policy.status_codes.push_back(code);
    return;
  }
  reader.error(at.where, "unknown retry condition '" + *text + "'; use " + knownConditions());
}

void readBackoff(YamlReader& reader, const Located& at, RetryPolicy& policy) {
  std::optional<Fields> fields = reader.mapping(at, "backoff", {"base", "max"});
  if (!fields) return;
  const Field* base = fields->find("base");
  const Field* max = fields->find("max");
  if (base != nullptr) {
    if (auto value = reader.duration(base->value, "base")) {
      if (value->count() == 0) {
        reader.error(base->value.where, "backoff base must be more than 0");
      } else {
        policy.backoff_base = *value;
        if (max == nullptr) policy.backoff_max = *value * kDefaultMaxOverBase;
      }
    }
  }
  if (max != nullptr) {
    if (auto value = reader.duration(max->value, "max")) {
      if (*value < policy.backoff_base) {
        reader.error(max->value.where, "backoff max must not be less than its base");
      } else {
        policy.backoff_max = *value;
      }
    }
  }
}

}  // namespace

std::optional<RetryPolicy> readRetryPolicy(YamlReader& reader, const Located& at) {
  std::optional<Fields> fields = reader.mapping(
      at, "retry", {"attempts", "on", "per_try_timeout", "backoff", "max_body_bytes"});
  if (!fields) return std::nullopt;
  RetryPolicy policy;
  if (const Field* f = fields->find("attempts")) {
    if (auto value = reader.integer(f->value, "attempts", 1, kMaxAttempts)) {
      policy.attempts = static_cast<uint32_t>(*value);
    }
  }
  if (const Field* f = fields->find("on")) {
    if (auto items = reader.sequence(f->value, "on")) {
      if (items->empty()) reader.error(f->value.where, "on must not be empty");
      policy.on = 0;
      for (const Located& item : *items) readCondition(reader, item, policy);
    }
  }
  if (const Field* f = fields->find("per_try_timeout")) {
    if (auto value = reader.duration(f->value, "per_try_timeout")) policy.per_try_timeout = *value;
  }
  if (const Field* f = fields->find("backoff")) readBackoff(reader, f->value, policy);
  if (const Field* f = fields->find("max_body_bytes")) {
    if (auto value = reader.size(f->value, "max_body_bytes", 0, kMaxBodyBytes)) {
      policy.max_body_bytes = *value;
    }
  }
  return policy;
}

void readRetryBudget(YamlReader& reader, const Located& at, RetryBudget& out) {
  std::optional<Fields> fields = reader.mapping(at, "retry_budget", {"percent", "min_concurrency"});
  if (!fields) return;
  if (const Field* f = fields->find("percent")) {
    if (auto value = reader.integer(f->value, "percent", 0, 100)) {
      out.percent = static_cast<uint32_t>(*value);
    }
  }
  if (const Field* f = fields->find("min_concurrency")) {
    if (auto value = reader.integer(f->value, "min_concurrency", 0, kMaxMinConcurrency)) {
      out.min_concurrency = static_cast<uint32_t>(*value);
    }
  }
}

std::vector<std::string> retryConditionNames(const RetryPolicy& policy) {
  std::vector<std::string> names;
  for (const auto& [name, bit] : kConditions) {
    if ((policy.on & bit) != 0) names.emplace_back(name);
  }
  for (int code : policy.status_codes) names.push_back(std::to_string(code));
  return names;
}

}  // namespace remora::config

// The `rate_limit` filter: settings read and bounded, the key taken from the request, and a
// refused request answered 429 with retry-after and RateLimit headers (or, in shadow mode, only
// counted).
#include "filters/rate_limit/rate_limit_filter.h"

#include <chrono>
#include <cmath>
#include <string>

#include "config/field_readers.h"
#include "config/http_syntax.h"
#include "filters/filter_settings.h"
#include "filters/rate_limit/token_buckets.h"
#include "proxy/request_decoration.h"
#include "proxy/stats.h"

namespace remora::filters {
namespace {

// Beyond what one remora serves: a higher limit is no limit.
constexpr double kMaxRate = 1e6;
constexpr double kMinRate = 0.001;
constexpr uint64_t kMaxBurst = 1'000'000'000;
constexpr uint64_t kMaxKeys = 10'000'000;
constexpr uint32_t kDefaultMaxKeys = 10000;

struct RateLimitConfig {
  double requests_per_second = 0;
  uint32_t burst = 0;  // 0 until read: then one second's worth, at least 1
  enum class KeyBy { None, Header, SourceIp };
  KeyBy key_by = KeyBy::None;
  std::string header;  // lowercase
  uint32_t max_keys = kDefaultMaxKeys;
  bool shadow = false;
};

// Whole seconds, rounded up: a client told 0 would come straight back.
std::string secondsUp(int64_t ns) {
  return std::to_string(std::max<int64_t>(1, (ns + 999'999'999) / 1'000'000'000));
}

class RateLimitFilterFactory;

class RateLimitFilter : public Filter {
 public:
  RateLimitFilter(const RateLimitFilterFactory& factory, StreamContext& context)
      : factory_(factory), context_(context) {}
  Next onRequestHeaders(RequestHeaders& headers, bool) override;

 private:
  const RateLimitFilterFactory& factory_;
  StreamContext& context_;
};

class RateLimitFilterFactory : public FilterFactory {
 public:
  explicit RateLimitFilterFactory(RateLimitConfig config)
      : config_(std::move(config)),
        buckets_(config_.requests_per_second, config_.burst,
                 config_.key_by == RateLimitConfig::KeyBy::None ? 0 : config_.max_keys) {}
  std::unique_ptr<Filter> create(StreamContext& context) const override {
    return std::make_unique<RateLimitFilter>(*this, context);
  }
  const RateLimitConfig& config() const { return config_; }
  // The buckets are the factory's: one per `rate_limit` entry, shared by every worker.
  TokenBuckets& buckets() const { return buckets_; }

 private:
  RateLimitConfig config_;
  mutable TokenBuckets buckets_;
};

Next RateLimitFilter::onRequestHeaders(RequestHeaders& headers, bool) {
  const RateLimitConfig& config = factory_.config();
  std::string_view key;
  if (config.key_by == RateLimitConfig::KeyBy::Header) {
    // Requests without the header share one bucket: leaving it out is no way around the limit.
    if (auto value = headers.headers.get(config.header)) key = *value;
  } else if (config.key_by == RateLimitConfig::KeyBy::SourceIp) {
    key = clientIpOf(context_.info().downstream_address);
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  const TokenBuckets::Decision decision = factory_.buckets().take(key, now);
  if (decision.admitted) return Next::Continue;
  context_.workerStats().recordRateLimited(context_.info().listener, config.shadow);
  if (config.shadow) return Next::Continue;
  LocalReply reply(429, "rate limited\n", "rate_limited");
  reply.headers = {{"retry-after", secondsUp(decision.retry_after_ns)},
                   {"ratelimit-limit", std::to_string(config.burst)},
                   {"ratelimit-remaining", "0"},
                   {"ratelimit-reset", secondsUp(decision.full_in_ns)}};
  context_.sendLocalReply(reply);
  return Next::Stop;
}

void readKey(config::YamlReader& reader, const config::Located& at, RateLimitConfig& out) {
  std::optional<config::Fields> fields = reader.mapping(at, "key", {"header", "source_ip"});
  if (!fields) return;
  if (fields->all().size() != 1) {
    reader.error(at.where, "key takes exactly one of header or source_ip");
    return;
  }
  const config::Field& f = fields->all().front();
  if (f.key == "header") {
    if (auto name = reader.nonEmptyString(f.value, "header")) {
      out.key_by = RateLimitConfig::KeyBy::Header;
      out.header = toLower(*name);
    }
    return;
  }
  if (auto on = reader.boolean(f.value, "source_ip")) {
    if (*on) out.key_by = RateLimitConfig::KeyBy::SourceIp;
  }
}

void readRateLimit(config::YamlReader& reader, const config::Fields& fields, RateLimitConfig& out) {
  if (reader.require(fields, "rate_limit filter", "requests_per_second")) {
    const config::Field* f = fields.find("requests_per_second");
    if (auto rate = reader.number(f->value, f->key, kMinRate, kMaxRate)) {
      out.requests_per_second = *rate;
    }
  }
  uint64_t burst = 0;
  config::readInteger(reader, fields, "burst", 1, kMaxBurst, burst);
  out.burst = burst != 0 ? static_cast<uint32_t>(burst)
                         : static_cast<uint32_t>(std::max(1.0, std::ceil(out.requests_per_second)));
  if (const config::Field* f = fields.find("key")) readKey(reader, f->value, out);
  config::readInteger(reader, fields, "max_keys", 1, kMaxKeys, out.max_keys);
  if (const config::Field* f = fields.find("shadow")) {
    if (auto shadow = reader.boolean(f->value, "shadow")) out.shadow = *shadow;
  }
}

}  // namespace

Result<std::shared_ptr<const FilterFactory>> createRateLimitFilterFactory(
    const config::FilterConfig& config) {
  return makeFilterFactory<RateLimitFilterFactory, RateLimitConfig>(
      config, "rate_limit filter", {"requests_per_second", "burst", "key", "max_keys", "shadow"},
      readRateLimit);
}

}  // namespace remora::filters

// The `fault` filter: settings read and bounded; per request, whether to delay and whether to
// abort (from the settings, or from a trusted client's x-remora-fault-* headers, capped by the
// settings' percentages); at most max_active requests faulted at once across workers.
#include "filters/fault/fault_filter.h"

#include <event2/event.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>

#include "config/field_readers.h"
#include "filters/filter_settings.h"
#include "proxy/event_time.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/stats.h"

namespace remora::filters {
namespace {

constexpr char kAbortHeader[] = "x-remora-fault-abort";           // an HTTP status
constexpr char kAbortGrpcHeader[] = "x-remora-fault-abort-grpc";  // a gRPC status
constexpr char kAbortPercentHeader[] = "x-remora-fault-abort-percent";
constexpr char kDelayHeader[] = "x-remora-fault-delay";  // milliseconds
constexpr char kDelayPercentHeader[] = "x-remora-fault-delay-percent";
constexpr uint64_t kMaxActive = 1'000'000;
constexpr uint64_t kMaxDelayMs = 3'600'000;

struct FaultConfig {
  // An abort answers `status`, or with `grpc_status` a gRPC reply (HTTP 200) carrying it.
  struct Abort {
    int status = 0;
    std::optional<int> grpc_status;
    double percent = 100;
  };
  struct Delay {
    config::Duration duration{0};
    double percent = 100;
  };
  std::optional<Abort> abort;
  std::optional<Delay> delay;
  bool headers = false;
  uint32_t max_active = 100;
};

std::optional<uint64_t> headerNumber(const RequestHeaders& request, const char* name) {
  const std::optional<std::string_view> text = request.headers.get(name);
  if (!text) return std::nullopt;
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  auto [stop, failure] = std::from_chars(text->data(), end, value);
  if (failure != std::errc() || stop != end) return std::nullopt;
  return value;
}

class FaultFilterFactory : public FilterFactory {
 public:
  explicit FaultFilterFactory(FaultConfig config) : config_(std::move(config)) {}
  std::unique_ptr<Filter> create(StreamContext& context) const override;
  const FaultConfig& config() const { return config_; }
  // A slot among max_active for one faulted request; false when all are taken.
  bool acquire() const {
    if (active_.fetch_add(1, std::memory_order_relaxed) < config_.max_active) return true;
    active_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void release() const { active_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  FaultConfig config_;
  mutable std::atomic<uint32_t> active_{0};  // across workers: a relaxed count, no lock
};

class FaultFilter : public Filter {
 public:
  FaultFilter(const FaultFilterFactory& factory, StreamContext& context)
      : factory_(factory), context_(context) {}
  ~FaultFilter() override {
    if (timer_ != nullptr) event_free(timer_);
    if (holds_slot_) factory_.release();
  }

  Next onRequestHeaders(RequestHeaders& headers, bool) override {
    const FaultConfig& config = factory_.config();
    // What this request gets: the settings', or a trusted client's own (x-remora-* headers
    // reach filters only from trusted listeners), never beyond the settings' percentages.
    std::optional<FaultConfig::Abort> abort = config.abort;
    std::optional<FaultConfig::Delay> delay = config.delay;
    if (config.headers) fromHeaders(headers, abort, delay);
    const bool do_delay = delay && delay->duration.count() > 0 && chance(delay->percent);
    const bool do_abort = abort && chance(abort->percent);
    if (!do_delay && !do_abort) return Next::Continue;
    if (!factory_.acquire()) return Next::Continue;  // max_active: the request goes on untouched
    holds_slot_ = true;
    if (do_abort) abort_ = abort;
    if (!do_delay) {
      sendAbort();
      return Next::Stop;
    }
    context_.workerStats().recordFault(context_.info().listener, stats::FaultKind::Delay);
    delayed_until_ = std::chrono::steady_clock::now() + delay->duration;
    timer_ = evtimer_new(context_.loop(), &FaultFilter::onDelayed, this);
    const timeval after = toTimeval(delay->duration);
    evtimer_add(timer_, &after);
    return Next::Stop;
  }

  void onComplete(const StreamInfo&) override {
    if (timer_ != nullptr) evtimer_del(timer_);
    if (holds_slot_) factory_.release();
    holds_slot_ = false;
  }

 private:
  static bool chance(double percent) { return inShare(percent, lbRandom()); }

  void fromHeaders(const RequestHeaders& headers, std::optional<FaultConfig::Abort>& abort,
                   std::optional<FaultConfig::Delay>& delay) const {
    const FaultConfig& config = factory_.config();
    auto capped = [](std::optional<uint64_t> asked, double cap) {
      return asked ? std::min(static_cast<double>(*asked), cap) : cap;
    };
    const double abort_cap = config.abort ? config.abort->percent : 100;
    if (auto status = headerNumber(headers, kAbortHeader);
        status && *status >= 200 && *status <= 599) {
      abort = FaultConfig::Abort{static_cast<int>(*status), std::nullopt,
                                 capped(headerNumber(headers, kAbortPercentHeader), abort_cap)};
    } else if (auto grpc = headerNumber(headers, kAbortGrpcHeader); grpc && *grpc <= 16) {
      abort = FaultConfig::Abort{200, static_cast<int>(*grpc),
                                 capped(headerNumber(headers, kAbortPercentHeader), abort_cap)};
    }
    if (auto ms = headerNumber(headers, kDelayHeader); ms && *ms <= kMaxDelayMs) {
      const double delay_cap = config.delay ? config.delay->percent : 100;
      delay = FaultConfig::Delay{config::Duration(*ms),
                                 capped(headerNumber(headers, kDelayPercentHeader), delay_cap)};
    }
  }

  static void onDelayed(evutil_socket_t, short, void* self) {
    auto* filter = static_cast<FaultFilter*>(self);
    // The loop's clock is coarse (a few milliseconds) and may fire early: a delay is at least
    // what it says.
    const auto left = filter->delayed_until_ - std::chrono::steady_clock::now();
    if (left > std::chrono::steady_clock::duration::zero()) {
      const timeval rest =
          toTimeval(std::chrono::duration_cast<config::Duration>(left) + config::Duration(1));
      evtimer_add(filter->timer_, &rest);
      return;
    }
    if (filter->abort_) return filter->sendAbort();
    filter->context_.resume();
  }

  void sendAbort() {
    context_.workerStats().recordFault(context_.info().listener, stats::FaultKind::Abort);
    if (abort_->grpc_status) {
      // A trailers-only gRPC reply: HTTP 200, the status in the head.
      LocalReply reply(200, "", "fault_abort");
      reply.headers = {{"content-type", "application/grpc"},
                       {"grpc-status", std::to_string(*abort_->grpc_status)},
                       {"grpc-message", "fault injected"}};
      context_.sendLocalReply(reply);
      return;
    }
    context_.sendLocalReply({abort_->status, "fault injected\n", "fault_abort"});
  }

  const FaultFilterFactory& factory_;
  StreamContext& context_;
  std::optional<FaultConfig::Abort> abort_;
  event* timer_ = nullptr;
  std::chrono::steady_clock::time_point delayed_until_;
  bool holds_slot_ = false;
};

std::unique_ptr<Filter> FaultFilterFactory::create(StreamContext& context) const {
  return std::make_unique<FaultFilter>(*this, context);
}

void readPercent(config::YamlReader& reader, const config::Fields& fields, double& out) {
  if (const config::Field* f = fields.find("percent")) {
    if (auto percent = reader.number(f->value, "percent", 0, 100)) out = *percent;
  }
}

void readAbort(config::YamlReader& reader, const config::Located& at, FaultConfig& out) {
  std::optional<config::Fields> fields =
      reader.mapping(at, "abort", {"status", "grpc_status", "percent"});
  if (!fields) return;
  FaultConfig::Abort abort;
  const config::Field* status = fields->find("status");
  const config::Field* grpc = fields->find("grpc_status");
  if ((status == nullptr) == (grpc == nullptr)) {
    reader.error(at.where, "abort takes exactly one of status or grpc_status");
    return;
  }
  if (status != nullptr) {
    if (auto code = reader.integer(status->value, "status", 200, 599)) {
      abort.status = static_cast<int>(*code);
    }
  } else if (auto code = reader.integer(grpc->value, "grpc_status", 0, 16)) {
    abort.status = 200;
    abort.grpc_status = static_cast<int>(*code);
  }
  readPercent(reader, *fields, abort.percent);
  if (abort.status != 0) out.abort = abort;
}

void readDelay(config::YamlReader& reader, const config::Located& at, FaultConfig& out) {
  std::optional<config::Fields> fields = reader.mapping(at, "delay", {"duration", "percent"});
  if (!fields) return;
  FaultConfig::Delay delay;
  if (!reader.require(*fields, "delay", "duration")) return;
  if (!config::readPositiveDuration(reader, *fields, "duration", delay.duration)) return;
  readPercent(reader, *fields, delay.percent);
  out.delay = delay;
}

}  // namespace

Result<std::shared_ptr<const FilterFactory>> createFaultFilterFactory(
    const config::FilterConfig& config) {
  return makeFilterFactory<FaultFilterFactory, FaultConfig>(
      config, "fault filter", {"abort", "delay", "headers", "max_active"},
      [&](config::YamlReader& reader, const config::Fields& fields, FaultConfig& out) {
        if (const config::Field* f = fields.find("abort")) readAbort(reader, f->value, out);
        if (const config::Field* f = fields.find("delay")) readDelay(reader, f->value, out);
        if (const config::Field* f = fields.find("headers")) {
          if (auto headers = reader.boolean(f->value, "headers")) out.headers = *headers;
        }
        config::readInteger(reader, fields, "max_active", 1, kMaxActive, out.max_active);
        if (!fields.has("abort") && !fields.has("delay") && !out.headers) {
          reader.error(config.location, "fault filter needs abort, delay, or headers: true");
        }
      });
}

}  // namespace remora::filters

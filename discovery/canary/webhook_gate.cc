// A canary gate's webhook calls: posted together, each retried a second apart, then settled.
#include "discovery/canary/webhook_gate.h"

namespace remora::canary {
namespace {

constexpr timeval kRetryAfter = {1, 0};
// The part of a refusal's body worth showing in /canaries and the log.
constexpr size_t kMaxBodyShown = 200;

}  // namespace

WebhookGate::~WebhookGate() { cancel(); }

void WebhookGate::cancel() {
  for (auto& call : calls_) {
    if (call->retry_timer != nullptr) event_free(call->retry_timer);
  }
  calls_.clear();
  done_ = nullptr;
}

void WebhookGate::ask(const std::vector<config::Canary::Webhook>& hooks, Gate gate,
                      std::string payload, Done done) {
  cancel();
  payload_ = std::move(payload);
  done_ = std::move(done);
  for (const config::Canary::Webhook& hook : hooks) {
    if (gate == Gate::Step ? !hook.on_step : !hook.on_promote) continue;
    auto call = std::make_unique<Call>();
    call->gate = this;
    call->hook = hook;
    calls_.push_back(std::move(call));
  }
  if (calls_.empty()) {
    Done finished = std::move(done_);
    done_ = nullptr;
    finished(true, "");
    return;
  }
  for (auto& call : calls_) send(*call);
}

void WebhookGate::send(Call& call) {
  ++call.attempts;
  discovery::HttpRequest request;
  request.method = "POST";
  request.url = call.hook.url;
  request.headers = {{"content-type", "application/json"}};
  request.body = payload_;
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(call.hook.timeout);
  request.max_body_bytes = 64 << 10;
  call.in_flight = client_.fetch(std::move(request),
                                 [this, &call](discovery::HttpResponse r) { answered(call, r); });
}

void WebhookGate::answered(Call& call, const discovery::HttpResponse& response) {
  call.in_flight.reset();
  if (response.status >= 200 && response.status < 300) {
    call.approved = true;
    return settle();
  }
  if (response.status == 0) {
    call.last_failure = response.error;
  } else {
    std::string body = response.body.substr(0, kMaxBodyShown);
    call.last_failure = "answered " + std::to_string(response.status) +
                        (body.empty() ? std::string() : " '" + body + "'");
  }
  if (call.attempts <= call.hook.retries) {
    if (call.retry_timer == nullptr) {
      call.retry_timer = evtimer_new(client_.base(), &WebhookGate::onRetry, &call);
    }
    evtimer_add(call.retry_timer, &kRetryAfter);
    return;
  }
  settle();
}

void WebhookGate::onRetry(evutil_socket_t, short, void* arg) {
  auto* call = static_cast<Call*>(arg);
  call->gate->send(*call);
}

void WebhookGate::settle() {
  // One webhook out of retries refuses at once; otherwise every one must have approved.
  std::string refusal;
  bool all_approved = true;
  for (const auto& call : calls_) {
    if (call->approved) continue;
    all_approved = false;
    if (call->in_flight || call->attempts <= call->hook.retries) continue;
    refusal = "webhook " + call->hook.url + " " + call->last_failure + " (" +
              std::to_string(call->attempts) + (call->attempts == 1 ? " call)" : " calls)");
    break;
  }
  if (!all_approved && refusal.empty()) return;
  Done finished = std::move(done_);
  // The calls go before `finished` runs: it may ask again, or destroy this gate.
  for (auto& call : calls_) {
    if (call->retry_timer != nullptr) event_free(call->retry_timer);
  }
  calls_.clear();
  done_ = nullptr;
  if (finished) finished(refusal.empty(), refusal);
}

}  // namespace remora::canary

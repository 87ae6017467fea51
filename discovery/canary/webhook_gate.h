// WebhookGate: asks a canary's webhooks whether it may move on (to its next step, or to the
// promotion). Each webhook listed for the gate is POSTed the canary's figures as JSON at once;
// the gate approves when every one answered 2xx, and refuses when one still failed (no answer,
// timed out, or another status) after its retries, a second apart.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/canary/canary_run.h"
#include "discovery/http_client.h"

namespace remora::canary {

class WebhookGate {
 public:
  // `approved`, or why not: "webhook <url> answered 503 (3 calls)".
  using Done = std::function<void(bool approved, std::string detail)>;

  // The calls are made with `client`, which must outlive this.
  explicit WebhookGate(discovery::HttpClient& client) : client_(client) {}
  ~WebhookGate();
  WebhookGate(const WebhookGate&) = delete;
  WebhookGate& operator=(const WebhookGate&) = delete;

  // Asks each of `hooks` listed for `gate`, posting `payload`; `done` runs once, on the loop,
  // unless this is destroyed or cancelled first. A gate already asking drops that round.
  void ask(const std::vector<config::Canary::Webhook>& hooks, Gate gate, std::string payload,
           Done done);
  void cancel();
  bool asking() const { return !calls_.empty(); }

 private:
  struct Call {
    WebhookGate* gate = nullptr;
    config::Canary::Webhook hook;
    uint32_t attempts = 0;
    bool approved = false;
    std::string last_failure;
    std::unique_ptr<discovery::HttpCall> in_flight;
    event* retry_timer = nullptr;
  };

  void send(Call& call);
  void answered(Call& call, const discovery::HttpResponse& response);
  void settle();
  static void onRetry(evutil_socket_t, short, void* arg);

  discovery::HttpClient& client_;
  std::string payload_;
  Done done_;
  std::vector<std::unique_ptr<Call>> calls_;
};

}  // namespace remora::canary

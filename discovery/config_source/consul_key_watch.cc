// The blocking-query loop on one Consul KV key.
#include "discovery/config_source/consul_key_watch.h"

#include <algorithm>

#include "discovery/consul/consul_json.h"
#include "proxy/log.h"

namespace remora::discovery::config_source {
namespace {

// On top of wait*17/16 (Consul's jitter): the agent's round trip to the servers.
constexpr std::chrono::milliseconds kTimeoutSlack{5000};
// A config is a few KiB; a value past this is not one.
constexpr size_t kMaxValueBytes = 4 << 20;

}  // namespace

ConsulKeyWatch::ConsulKeyWatch(HttpClient& http, const config::ConsulRegistry& consul,
                               std::string key, OnValue on_value)
    : http_(http),
      consul_(consul),
      token_(consul::resolveToken(consul)),
      key_(std::move(key)),
      on_value_(std::move(on_value)),
      timer_(evtimer_new(http.base(), &ConsulKeyWatch::onTimer, this)) {}

ConsulKeyWatch::~ConsulKeyWatch() {
  call_.reset();
  event_free(timer_);
}

void ConsulKeyWatch::arm(std::chrono::milliseconds wait) {
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  evtimer_add(timer_, &tv);
}

void ConsulKeyWatch::onTimer(evutil_socket_t, short, void* self) {
  static_cast<ConsulKeyWatch*>(self)->query();
}

void ConsulKeyWatch::query() {
  // As for services: index 0 answers at once; after the first read, never block on 0.
  const uint64_t index = read_once_ ? std::max<uint64_t>(index_, 1) : 0;
  std::string base = consul_.address;
  while (base.ends_with('/')) base.pop_back();
  HttpRequest request;
  request.url = base + "/v1/kv/" + consul::kvPath(key_) + "?raw&index=" + std::to_string(index) +
                "&wait=" + consul::durationText(consul_.wait);
  if (!consul_.datacenter.empty()) request.url += "&dc=" + consul::urlEscape(consul_.datacenter);
  if (consul_.stale) request.url += "&stale";
  if (!token_.empty()) request.headers.emplace_back("X-Consul-Token", token_);
  request.timeout = index == 0 ? kTimeoutSlack : consul_.wait + consul_.wait / 16 + kTimeoutSlack;
  request.max_body_bytes = kMaxValueBytes;
  sent_ = consul::QueryPacer::Clock::now();
  call_ = http_.fetch(std::move(request), [this](HttpResponse response) { onResponse(response); });
}

void ConsulKeyWatch::onResponse(const HttpResponse& response) {
  call_.reset();
  // 404: the key does not exist (yet); still an answer, with an index to block on.
  if (response.status != 200 && response.status != 404) {
    return fail(consul::describeFailure(response));
  }
  const auto index = consul::parseIndex(response.header("x-consul-index"));
  if (!index) return fail("the reply has no valid X-Consul-Index");
  index_ = *index < index_ ? 0 : *index;
  if (backoff_.failures() > 0) LOG_INFO("consul: key %s: registry back", key_.c_str());
  backoff_.reset();
  std::optional<std::string> value;
  if (response.status == 200) value = response.body;
  const bool changed = !read_once_ || value != value_;
  read_once_ = true;
  const auto wait = pacer_.delay(sent_, consul::QueryPacer::Clock::now());
  if (wait.count() > 0) {
    arm(wait);
  } else {
    query();
  }
  if (!changed) return;
  value_ = value;
  on_value_(std::move(value));
}

void ConsulKeyWatch::fail(const std::string& error) {
  index_ = 0;
  const auto wait = backoff_.next();
  LOG_WARN("consul: key %s: %s; retrying in %lldms, keeping the last value", key_.c_str(),
           error.c_str(), static_cast<long long>(wait.count()));
  arm(wait);
}

}  // namespace remora::discovery::config_source

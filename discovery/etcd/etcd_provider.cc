// The etcd watch loop: range, watch from revision+1, resume after a break, re-sync after
// compaction, and a view passed on whenever the watched services' instances changed.
#include "discovery/etcd/etcd_provider.h"

#include <nlohmann/json.hpp>

#include "discovery/etcd/etcd_json.h"
#include "proxy/log.h"

namespace remora::discovery::etcd {
namespace {

constexpr std::chrono::milliseconds kRangeTimeout{5000};

}  // namespace

EtcdProvider::EtcdProvider(HttpClient& http, const config::EtcdRegistry& config,
                           ProviderCallbacks callbacks)
    : http_(http),
      config_(config),
      callbacks_(std::move(callbacks)),
      client_(http, config),
      instances_(config.prefix),
      retry_timer_(evtimer_new(http.base(), &EtcdProvider::onRetry, this)),
      publish_(http.base(), [this] {
        if (instances_.changed()) publish();
      }) {}

EtcdProvider::~EtcdProvider() {
  call_.reset();
  event_free(retry_timer_);
}

void EtcdProvider::watch(const std::set<std::string>& services) {
  const bool first = services_.empty() && !have_range_ && !call_;
  services_ = services;
  instances_.watch(services);
  if (first) {
    range();
  } else if (have_range_ && instances_.changed()) {
    publish();
  }
}

void EtcdProvider::range() {
  const nlohmann::json body = {{"key", base64Encode(config_.prefix)},
                               {"range_end", base64Encode(prefixRangeEnd(config_.prefix))}};
  call_ = client_.call("/v3/kv/range", body.dump(), kRangeTimeout, [this](HttpResponse response) {
    call_.reset();
    if (response.status != 200) {
      return fail(response.status == 0 ? response.error
                                       : "range: HTTP " + std::to_string(response.status) + " " +
                                             response.body.substr(0, 200));
    }
    std::string error;
    auto reply = parseRangeReply(response.body, error);
    if (!reply) return fail("range: " + error);
    instances_.replace(std::move(reply->kvs));
    revision_ = reply->revision;
    have_range_ = true;
    succeeded();
    if (instances_.changed()) publish();
    startWatch();
  });
}

void EtcdProvider::startWatch() {
  const nlohmann::json body = {{"create_request",
                                {{"key", base64Encode(config_.prefix)},
                                 {"range_end", base64Encode(prefixRangeEnd(config_.prefix))},
                                 {"start_revision", std::to_string(revision_ + 1)},
                                 {"progress_notify", true}}}};
  partial_line_.clear();
  call_ = client_.stream(
      "/v3/watch", body.dump(), [this](std::string_view data) { onWatchData(data); },
      [this](HttpResponse response) {
        call_.reset();
        fail(response.status == 0 ? "watch: " + response.error
                                  : "watch ended: HTTP " + std::to_string(response.status));
      });
}

void EtcdProvider::onWatchData(std::string_view data) {
  partial_line_.append(data);
  size_t start = 0;
  for (size_t end; (end = partial_line_.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string_view line(partial_line_.data() + start, end - start);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    if (!onWatchLine(line)) return;  // the call and this buffer were reset
  }
  partial_line_.erase(0, start);
  if (partial_line_.size() > (32u << 20)) {
    call_.reset();
    fail("watch: a line longer than 32 MiB");
  }
}

bool EtcdProvider::onWatchLine(std::string_view line) {
  std::string error;
  auto message = parseWatchMessage(line, error);
  if (!message || !message->error.empty()) {
    call_.reset();
    // Possibly an expired token: authenticate again and read everything again.
    client_.resetToken();
    have_range_ = false;
    fail("watch: " + (message ? message->error : error));
    return false;
  }
  if (message->canceled) {
    call_.reset();
    if (message->compact_revision > 0) {
      // The revisions we would resume from are gone: read everything again.
      LOG_WARN("etcd: watch compacted at revision %lld; reading %s again",
               static_cast<long long>(message->compact_revision), config_.prefix.c_str());
      have_range_ = false;
      range();
    } else {
      client_.resetToken();
      have_range_ = false;
      fail("watch cancelled: " + message->cancel_reason);
    }
    return false;
  }
  if (message->created) {
    succeeded();
    if (message->revision < revision_) {
      // The store is behind what we saw (restored from a backup, or a new cluster): the events
      // we wait for would never come. Read everything again.
      LOG_WARN("etcd: the store went back from revision %lld to %lld; reading %s again",
               static_cast<long long>(revision_), static_cast<long long>(message->revision),
               config_.prefix.c_str());
      call_.reset();
      have_range_ = false;
      range();
      return false;
    }
  }
  bool changed = false;
  for (auto& event : message->events) {
    if (event.deleted) {
      changed = instances_.erase(event.kv.key) || changed;
    } else {
      changed = instances_.put(event.kv.key, event.kv.value) || changed;
    }
    revision_ = std::max(revision_, event.kv.mod_revision);
  }
  // Progress notifications carry the revision the watch has caught up to. The `created` line's
  // revision does not: events before it may still be on their way.
  if (message->events.empty() && !message->created)
    revision_ = std::max(revision_, message->revision);
  if (changed) publish_.request();
  return true;
}

void EtcdProvider::publish() {
  RegistryView view = instances_.takeView();
  view.source = "etcd";
  callbacks_.on_view(std::move(view));
}

void EtcdProvider::succeeded() {
  backoff_.reset();
  status_.healthy = true;
  status_.last_error.clear();
  status_.last_success = std::chrono::system_clock::now();
}

void EtcdProvider::fail(const std::string& error) {
  status_.healthy = false;
  status_.last_error = error;
  ++status_.errors;
  callbacks_.on_error(error);
  retryLater();
}

void EtcdProvider::retryLater() {
  const auto wait = backoff_.next();
  LOG_WARN("etcd (%s): %s; retrying in %lldms, keeping the last view", client_.endpoint().c_str(),
           status_.last_error.c_str(), static_cast<long long>(wait.count()));
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(retry_timer_, &tv);
}

void EtcdProvider::onRetry(evutil_socket_t, short, void* self) {
  auto* provider = static_cast<EtcdProvider*>(self);
  // With a range in hand the watch resumes where it stopped; etcd replays what was missed.
  if (provider->have_range_) {
    provider->startWatch();
  } else {
    provider->range();
  }
}

}  // namespace remora::discovery::etcd

// The etcd range-then-watch loop: resuming, re-reading after compaction, and backing off.
#include "discovery/etcd/etcd_watch_loop.h"

#include <nlohmann/json.hpp>

#include "discovery/base64.h"
#include "proxy/log.h"

namespace remora::discovery::etcd {
namespace {

constexpr std::chrono::milliseconds kRangeTimeout{5000};
// A line of the watch stream past this is not etcd's.
constexpr size_t kMaxLineBytes = 32u << 20;

}  // namespace

EtcdWatchLoop::EtcdWatchLoop(HttpClient& http, EtcdClient& client, std::string key,
                             std::string range_end, std::string what, Callbacks callbacks)
    : client_(client),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      what_(std::move(what)),
      callbacks_(std::move(callbacks)),
      retry_timer_(evtimer_new(http.base(), &EtcdWatchLoop::onRetry, this)) {}

EtcdWatchLoop::~EtcdWatchLoop() {
  call_.reset();
  event_free(retry_timer_);
}

void EtcdWatchLoop::range() {
  nlohmann::json body = {{"key", base64Encode(key_)}};
  if (!range_end_.empty()) body["range_end"] = base64Encode(range_end_);
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
    revision_ = reply->revision;
    have_range_ = true;
    succeeded();
    startWatch();
    callbacks_.on_range(std::move(reply->kvs));
  });
}

void EtcdWatchLoop::startWatch() {
  nlohmann::json request = {{"key", base64Encode(key_)},
                            {"start_revision", std::to_string(revision_ + 1)},
                            {"progress_notify", true}};
  if (!range_end_.empty()) request["range_end"] = base64Encode(range_end_);
  const nlohmann::json body = {{"create_request", request}};
  partial_line_.clear();
  call_ = client_.stream(
      "/v3/watch", body.dump(), [this](std::string_view data) { onWatchData(data); },
      [this](HttpResponse response) {
        call_.reset();
        fail(response.status == 0 ? "watch: " + response.error
                                  : "watch ended: HTTP " + std::to_string(response.status));
      });
}

void EtcdWatchLoop::onWatchData(std::string_view data) {
  partial_line_.append(data);
  size_t start = 0;
  for (size_t end; (end = partial_line_.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string_view line(partial_line_.data() + start, end - start);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    if (!onWatchLine(line)) return;  // the call and this buffer were reset
  }
  partial_line_.erase(0, start);
  if (partial_line_.size() > kMaxLineBytes) {
    call_.reset();
    fail("watch: a line longer than 32 MiB");
  }
}

bool EtcdWatchLoop::onWatchLine(std::string_view line) {
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
               static_cast<long long>(message->compact_revision), what_.c_str());
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
               what_.c_str());
      call_.reset();
      have_range_ = false;
      range();
      return false;
    }
  }
  for (const WatchEvent& event : message->events) {
    revision_ = std::max(revision_, event.kv.mod_revision);
  }
  // Progress notifications carry the revision the watch has caught up to. The `created` line's
  // revision does not: events before it may still be on their way.
  if (message->events.empty() && !message->created) {
    revision_ = std::max(revision_, message->revision);
  }
  if (!message->events.empty()) callbacks_.on_events(message->events);
  return true;
}

void EtcdWatchLoop::succeeded() {
  backoff_.reset();
  failures_ = 0;
  callbacks_.on_success();
}

void EtcdWatchLoop::fail(const std::string& error) {
  ++failures_;
  const auto wait = backoff_.next();
  LOG_WARN("etcd (%s): %s: %s; retrying in %lldms, keeping what was read",
           client_.endpoint().c_str(), what_.c_str(), error.c_str(),
           static_cast<long long>(wait.count()));
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(retry_timer_, &tv);
  callbacks_.on_failure(error);
}

void EtcdWatchLoop::onRetry(evutil_socket_t, short, void* self) {
  auto* loop = static_cast<EtcdWatchLoop*>(self);
  // With a range in hand the watch resumes where it stopped; etcd replays what was missed.
  if (loop->have_range_) {
    loop->startWatch();
  } else {
    loop->range();
  }
}

}  // namespace remora::discovery::etcd

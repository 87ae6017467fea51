// Shadow: one fire-and-forget copy of a request to a route's `mirror:` cluster, or to a canary's
// subset during its shadow step. It streams the primary's body up to a limit, never slows the
// primary, outlives its stream when it must, with `compare` counts whether its answer matches the
// primary's, and for a canary counts its outcome as the canary arm's.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "filters/filter.h"
#include "proxy/codec.h"
#include "proxy/detached_set.h"
#include "proxy/pool/connection_pool.h"
#include "proxy/recycled.h"
#include "proxy/stats.h"
#include "proxy/upstreams.h"

namespace remora::router {

// `host-shadow[:port]`: the authority a copy carries, so that the shadow can tell copies apart.
std::string shadowAuthority(std::string_view authority);

// FNV-1a over a response body, chunk by chunk, for `compare: {body: true}`.
class BodyHash {
 public:
  void add(Buffer& data);
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0xcbf29ce484222325ull;
};

class Shadow final : public DetachedWork,
                     public PoolCallbacks,
                     public UpstreamCallbacks,
                     public Recycled<Shadow> {
 public:
  // A copy of `request` (its head as the route's edits left it) when `route` mirrors and the
  // request falls in its share; null otherwise. A copy that cannot go (over the mirror's
  // concurrency, no healthy endpoint, the cluster's breaker open) is counted and dropped: null.
  static std::unique_ptr<Shadow> start(filters::StreamContext& context, Upstreams& upstreams,
                                       const CompiledRoute& route, const RequestHeaders& request,
                                       bool end_stream);
  ~Shadow() override;
  Shadow(const Shadow&) = delete;
  Shadow& operator=(const Shadow&) = delete;

  // The primary's request body and trailers as they pass the router; never held back by the
  // copy: what it cannot take at once is cut.
  void copyBody(const Buffer& data, bool end_stream);
  void copyTrailers(const HeaderMap& trailers);
  // The primary's response body as it passes the router, hashed when the body is compared.
  void primaryResponseBody(Buffer& data);
  // The primary stream is over; `status` is what its client got (0: nothing). A copy whose
  // request had not ended yet is cut. Returns true when the copy goes on alone: the caller hands
  // it to the worker's DetachedSet, and it leaves the set when it is done.
  bool primaryFinished(int status);

  // --- PoolCallbacks ---
  void onPoolReady(std::unique_ptr<UpstreamRequest> request) override;
  void onPoolFailure(PoolFailure failure) override;

  // --- UpstreamCallbacks: the shadow's answer, read and discarded. ---
  void onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) override;
  void onUpstreamData(Buffer& data, bool end_stream) override;
  void onUpstreamTrailers(HeaderMap& trailers) override;
  void onUpstreamFailure(UpstreamFailure failure, bool response_started) override;
  void onUpstreamWriteWatermark(bool above) override;

 private:
  Shadow(Upstreams& upstreams, std::shared_ptr<const Snapshot> snapshot,
         const config::Mirror& config, const MirrorTarget& target, event_base* loop);
  // Picks an endpoint and asks the pool; false (counted) when the copy cannot go.
  bool send(const RequestHeaders& request, bool end_stream, config::Duration timeout);
  void sendBody(Buffer& data, bool end_stream);
  // The copy's exchange is over: everything it held goes back, its result is counted, and once
  // nothing more is awaited a detached copy leaves the worker's set.
  void finish(stats::MirrorResult result);
  void compareWhenBothKnown();
  void record(stats::MirrorResult result);
  // A canary's shadow step: the copy's outcome counts as the canary arm's.
  void judgeForCanary(stats::MirrorResult result);
  static void onTimeout(evutil_socket_t, short, void* self);

  Upstreams& upstreams_;
  std::shared_ptr<const Snapshot> snapshot_;  // pinned: the copy may outlive its stream
  const config::Mirror& config_;
  const ClusterInfo& cluster_;
  const SubsetInfo& subset_;
  ClusterState& state_;  // kept by its budget's in_flight count while the copy lives
  std::atomic<uint32_t>& in_flight_;
  event_base* loop_;

  // The copy's head; kept while the copy lives, since an upstream may refer to it.
  std::unique_ptr<RequestHeaders> request_;
  // What the primary sent while the pool had no stream yet (at most max_body_bytes).
  std::unique_ptr<Buffer> unsent_body_;
  std::unique_ptr<HeaderMap> unsent_trailers_;
  bool request_ended_ = false;  // the whole request was copied
  uint64_t copied_bytes_ = 0;

  PendingStream* pending_ = nullptr;
  std::unique_ptr<UpstreamRequest> upstream_;
  EndpointState* endpoint_ = nullptr;  // counted in its `active` while set
  bool holds_request_ = false;         // counted against the cluster's `max_requests`
  std::chrono::steady_clock::time_point started_;
  event timer_;  // the copy's whole deadline; embedded: no allocation per copy
  bool timer_armed_ = false;

  bool finished_ = false;
  int shadow_status_ = 0;
  bool shadow_answered_ = false;  // the shadow's whole answer arrived
  BodyHash shadow_hash_;
  int primary_status_ = -1;  // -1: the primary has not finished
  BodyHash primary_hash_;
  bool compared_ = false;
  int32_t canary_ = -1;  // the canary (Config::canaries) whose shadow step this copy serves
};

}  // namespace remora::router

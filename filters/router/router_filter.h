// The router: the terminal filter of every chain. It answers direct responses, picks a route
// target (the split) and an endpoint, asks the pool for a stream, relays the exchange, and
// applies the route's retry policy and timeouts, with the cluster's retry budget, and starts the
// route's shadow copy (mirror.h).
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <chrono>
#include <memory>

#include "config/config.h"
#include "discovery/snapshot.h"
#include "filters/filter.h"
#include "filters/router/mirror.h"
#include "filters/router/retry_policy.h"
#include "proxy/codec.h"
#include "proxy/recycled.h"
#include "proxy/upstreams.h"

namespace remora::router {

class RouterFilter final : public filters::Filter,
                           public UpstreamCallbacks,
                           public PoolCallbacks,
                           public Recycled<RouterFilter> {
 public:
  RouterFilter(filters::StreamContext& context, Upstreams& upstreams);
  ~RouterFilter() override;
  RouterFilter(const RouterFilter&) = delete;
  RouterFilter& operator=(const RouterFilter&) = delete;

  // --- filters::Filter ---
  filters::Next onRequestHeaders(RequestHeaders& headers, bool end_stream) override;
  filters::Next onRequestBody(Buffer& data, bool end_stream) override;
  filters::Next onRequestTrailers(HeaderMap& trailers) override;
  void onDownstreamWatermark(bool above) override;
  void onComplete(const filters::StreamInfo& info) override;

  // --- PoolCallbacks ---
  void onPoolReady(std::unique_ptr<UpstreamRequest> request) override;
  void onPoolFailure(PoolFailure failure) override;

  // --- UpstreamCallbacks ---
  void onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) override;
  void onUpstreamData(Buffer& data, bool end_stream) override;
  void onUpstreamTrailers(HeaderMap& trailers) override;
  void onUpstreamFailure(UpstreamFailure failure, bool response_started) override;
  void onUpstreamWriteWatermark(bool above) override;

 private:
  void directResponse(const config::DirectResponse& response);
  // Chooses the endpoint of the next try, another than `avoid` when the subset has others;
  // answers 503 and returns false when none is healthy.
  bool pickEndpoint(int avoid);
  // Asks the pool for a stream to the chosen endpoint; the try starts when it is ready. False
  // when the cluster's request limit is reached (answered 503).
  bool requestStream();
  // Answers 503 with `x-remora-overloaded: true`: a circuit breaker is open.
  void overloaded(std::string_view reason);
  // A try that never reached an upstream (the connection was refused or timed out) goes once
  // to another endpoint, with or without a retry policy; false when that was done already.
  bool retryElsewhere(int try_code);
  // Sends the request (again, on a retry): head, the body kept for replay, then what arrived
  // while no upstream was there, and lets the stream pass on what it held meanwhile.
  void startTry();
  void forwardBody(Buffer& data, bool end_stream);
  void forwardTrailers(HeaderMap& trailers);
  void releaseUpstream(bool reusable);
  // The primary is over: its shadow copy, if still going, goes on alone.
  void handOffShadow(int status);
  // What the try's end says about its endpoint, for outlier detection.
  void recordOutcome(outlier::Outcome outcome);
  // The try's time to its answer, for a latency-aware balancer; `failed` counts it as slow.
  void recordLatency(bool failed);
  void endpointFinished();
  // Answers locally with what the failure of the last try means.
  void failRequest(int status, std::string_view body, std::string_view reason);

  // --- Retries and timeouts (router_retry.cc). ---
  bool canRetry() const;
  // The cluster's retry budget lets this request retry (counted from its first retry on).
  bool budgetAllowsRetry();
  void releaseBudget();
  // Ends the current try (its response, if any, is dropped) and schedules the next one.
  void retryAfter(int try_code, bool reusable);
  void recordTry(int code);
  // The target of a canary route for this request: forced by x-remora-canary, by the sticky
  // key's hash, or by chance.
  int pickCanaryArm(const RequestHeaders& request);
  void armTimeouts();
  void armTryTimer(config::Duration delay);
  void stopTimers();
  static void onTryTimer(evutil_socket_t, short, void* self);
  static void onRouteTimeout(evutil_socket_t, short, void* self);

  filters::StreamContext& context_;
  Upstreams& upstreams_;
  RequestHeaders* request_ = nullptr;  // the stream's; lives as long as the stream
  bool end_at_headers_ = false;
  bool upgrade_ = false;
  bool stopped_ = false;  // this filter returned Stop and will resume the stream

  const CompiledRoute* route_ = nullptr;
  int canary_arm_ = -1;  // on a canary route: 0 the canary, 1 the baseline
  // ring_hash and maglev: the request's key from the route's `hash:`, and a cookie made up for
  // it that the response sets.
  std::optional<uint64_t> request_hash_;
  std::string set_cookie_;
  const ClusterInfo* cluster_ = nullptr;
  const SubsetInfo* subset_ = nullptr;
  ClusterState* state_ = nullptr;
  int endpoint_index_ = -1;
  EndpointState* endpoint_ = nullptr;  // counted in its `active` while set
  bool holds_request_ = false;         // counted against the cluster's `max_requests`
  bool holds_retry_ = false;           // counted in the retry budget and `max_retries`
  bool retried_elsewhere_ = false;     // the one retry of a try that reached no upstream
  PendingStream* pending_ = nullptr;   // waiting for the pool
  std::unique_ptr<UpstreamRequest> upstream_;
  bool downstream_above_ = false;
  std::unique_ptr<Shadow> shadow_;  // the route's mirror copy of this request, while it streams

  // Set while the route's retry policy still applies to this request.
  const config::RetryPolicy* retry_ = nullptr;
  // What tries were sent of the body and trailers, for the next try.
  std::unique_ptr<Buffer> replay_body_;
  std::unique_ptr<HeaderMap> replay_trailers_;
  bool replay_ended_ = false;  // the whole request was sent upstream
  // What arrived while no try was running (between tries), for the next one.
  std::unique_ptr<Buffer> unsent_body_;
  bool unsent_end_ = false;
  std::unique_ptr<HeaderMap> unsent_trailers_;
  bool backing_off_ = false;        // between two tries: `try_timer_` starts the next
  BudgetCounts* budget_ = nullptr;  // the cluster's counts on this worker
  event try_timer_;                 // the per-try timeout, or the backoff before the next try
  bool try_timer_assigned_ = false;
  event route_timer_;  // the route timeout; embedded: no allocation per request
  bool route_timer_assigned_ = false;
  bool route_timer_armed_ = false;
  bool retried_connection_ = false;
  int refused_retries_ = 0;
  int upstream_status_ = 0;
  std::chrono::steady_clock::time_point upstream_start_;
  bool upstream_done_ = false;  // the upstream's response ended cleanly
  bool tunnel_ = false;
  bool completed_ = false;
};

}  // namespace remora::router

// Stream: one request/response exchange. Runs the filter chain, routes, balances, and relays
// between the downstream codec and an upstream connection, on the snapshot it started with.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <memory>
#include <string>
#include <vector>

#include "discovery/snapshot.h"
#include "filters/filter.h"
#include "filters/retry/retry_budget.h"
#include "proxy/codec.h"
#include "proxy/worker.h"

namespace remora {

class Stream : public filters::StreamContext, public UpstreamCallbacks, public Deferrable {
 public:
  Stream(Worker& worker, DownstreamCodec& codec, std::shared_ptr<const Snapshot> snapshot,
         const ListenerInfo& listener, filters::StreamInfo info);
  ~Stream() override;

  // --- From the downstream codec. ---
  // `expect_continue`: the client waits for 100 Continue before its body.
  // `upgrade`: a protocol upgrade (WebSocket) was asked for; a 101 turns the stream into a tunnel.
  void decodeHeaders(RequestHeaders headers, bool end_stream, bool expect_continue, bool upgrade);
  void decodeData(Buffer& data, bool end_stream);
  // The request ends with trailers.
  void decodeTrailers(HeaderMap trailers);
  // The downstream output buffer went above / back below its watermark.
  void onDownstreamWatermark(bool above);
  // The client went away (or the connection is being closed): abandon everything.
  void onDownstreamGone();
  bool responseComplete() const { return response_complete_; }
  bool requestComplete() const { return request_complete_; }

  // --- filters::StreamContext ---
  void resume() override;
  void sendLocalReply(int status, std::string_view body) override;
  const filters::StreamInfo& info() const override { return info_; }
  event_base* loop() override { return worker_.base(); }

  // --- UpstreamCallbacks ---
  void onUpstreamHeaders(ResponseHeaders& headers, bool end_stream) override;
  void onUpstreamData(Buffer& data, bool end_stream) override;
  void onUpstreamTrailers(HeaderMap& trailers) override;
  void onUpstreamFailure(UpstreamFailure failure, bool response_started) override;
  void onUpstreamWriteWatermark(bool above) override;

 private:
  void continueRequestHeaders();
  void route();
  // Chooses the endpoint of the next try, another than `avoid` when the subset has others;
  // answers 503 and returns false when none is healthy.
  bool pickEndpoint(const EndpointInfo* avoid);
  // Sends the request (again, on a retry) to `endpoint_`: head, the body kept for replay, then
  // what arrived while no upstream was there.
  void startTry();
  void replayRequest();
  void flushPending();
  void forwardBody(Buffer& data, bool end_stream);
  void forwardTrailers(HeaderMap& trailers);
  // --- Retries (the route's `retry` policy). ---
  bool canRetry() const;
  // The cluster's retry budget lets this request retry (counted from its first retry on).
  bool budgetAllowsRetry();
  void releaseBudget();
  // Ends the current try (its response, if any, is dropped) and schedules the next one.
  void retryAfter(int try_code, bool reusable);
  void recordTry(int code);
  void armTryTimer(config::Duration delay);
  void stopTryTimer();
  static void onTryTimer(evutil_socket_t, short, void* self);
  void encodeHeaders(ResponseHeaders& headers, bool end_stream);
  void encodeData(Buffer& data, bool end_stream);
  void localReply(int status, std::string_view body, const char* reason);
  void complete();
  void releaseUpstream(bool reusable);
  void armTimeout();
  static void onTimeout(evutil_socket_t, short, void* self);

  Worker& worker_;
  DownstreamCodec& codec_;
  std::shared_ptr<const Snapshot> snapshot_;  // pinned: the whole exchange sees one world
  const ListenerInfo& listener_;
  filters::StreamInfo info_;
  std::vector<std::unique_ptr<filters::Filter>> filters_;
  size_t next_filter_ = 0;
  bool filters_stopped_ = false;

  RequestHeaders request_;
  bool request_end_at_headers_ = false;
  bool expect_continue_ = false;
  bool upgrade_ = false;
  bool request_complete_ = false;
  // Body that arrived while a filter held the headers; made only when needed.
  std::unique_ptr<Buffer> pending_body_;
  bool pending_end_ = false;
  std::unique_ptr<HeaderMap> pending_trailers_;
  bool pending_paused_ = false;        // reading paused because too much body was held
  bool upstream_write_above_ = false;  // the upstream's request buffer is above its watermark  //
                                       // request trailers that came before routing

  const CompiledRoute* route_ = nullptr;
  const ClusterInfo* cluster_ = nullptr;
  const SubsetInfo* subset_ = nullptr;
  const EndpointInfo* endpoint_ = nullptr;
  std::unique_ptr<UpstreamRequest> upstream_;
  // Set while the route's retry policy still applies to this request.
  const config::RetryPolicy* retry_ = nullptr;
  // What the last try was sent of the body and trailers, for the next try.
  std::unique_ptr<Buffer> replay_body_;
  std::unique_ptr<HeaderMap> replay_trailers_;
  bool replay_ended_ = false;              // the whole request was sent upstream
  bool backing_off_ = false;               // between two tries: `try_timer_` starts the next
  retry::BudgetCounts* budget_ = nullptr;  // the cluster's counts on this worker
  event try_timer_;  // the per-try timeout, or the backoff before the next try
  bool try_timer_assigned_ = false;
  bool retried_connection_ = false;
  int refused_retries_ = 0;
  int upstream_status_ = 0;
  std::chrono::steady_clock::time_point upstream_start_;

  bool response_headers_sent_ = false;
  bool response_complete_ = false;
  bool tunnel_ = false;
  bool completed_ = false;
  event timeout_;  // the route timeout; embedded: no allocation per request
  bool timeout_assigned_ = false;
};

}  // namespace remora

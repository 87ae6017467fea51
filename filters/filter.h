// The filter API: per-request Filter objects built by shared, immutable FilterFactory configs, and
// the StreamContext through which a filter acts on its request.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/message.h"

struct event_base;

namespace remora {
struct CompiledRoute;
struct Snapshot;
namespace stats {
class WorkerStats;
}  // namespace stats
}  // namespace remora

namespace remora::filters {

// Stop pauses that direction (request or response) at the filter that returned it, until it
// calls StreamContext::resume(). What arrives meanwhile in that direction is held by the stream
// (bodies up to the listener's `max_buffered_body_bytes`: beyond, 413 for a request, 500 or a
// reset for a response) and passes through every filter, from the first, once resumed.
enum class Next { Continue, Stop };

// What is known about a request, for logs and metrics; filled in as the request progresses.
struct StreamInfo {
  std::chrono::system_clock::time_point start_time;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::duration duration{};  // set before onComplete
  std::string listener;
  std::string downstream_address;  // the client's ip:port
  std::string protocol = "HTTP/1.1";
  std::string method;
  std::string authority;
  std::string path;
  std::string request_id;
  std::string user_agent;
  int status = 0;           // 0: no response was sent (the client went away first)
  std::string grpc_status;  // a gRPC response's `grpc-status` (trailers or headers); "" else
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;
  std::string cluster;
  std::string upstream_address;  // of the last try
  uint32_t retries = 0;          // tries after the first, by the route's retry policy
  // Why remora answered itself or reset the stream ("no_route", "upstream_timeout", ...); "" else.
  std::string local_reason;
};

// A response remora makes itself.
struct LocalReply {
  LocalReply(int status_code, std::string_view text, std::string_view why = "filter")
      : status(status_code), body(text), reason(why) {}

  int status;
  std::string_view body;
  std::string_view reason;                                   // StreamInfo::local_reason
  std::vector<std::pair<std::string, std::string>> headers;  // more fields, e.g. retry-after
};

class StreamContext {
 public:
  virtual ~StreamContext() = default;
  // Continues the direction that this filter stopped.
  virtual void resume() = 0;
  // Answers the request locally; the rest of the request chain is skipped, and the reply goes
  // through every filter's response hooks. After the response started, the stream is reset.
  virtual void sendLocalReply(const LocalReply& reply) = 0;
  void sendLocalReply(int status, std::string_view body) { sendLocalReply({status, body}); }
  virtual StreamInfo& info() = 0;
  virtual event_base* loop() = 0;
  // The snapshot the stream started with, and the route matched once before the chain (null:
  // none matched; the router answers 404).
  virtual const Snapshot& snapshot() const = 0;
  virtual const CompiledRoute* route() const = 0;
  // A share of that snapshot, for work that outlives the stream (a shadow copy).
  virtual std::shared_ptr<const Snapshot> sharedSnapshot() const = 0;
  // The worker's counters, for a filter's own metrics.
  virtual stats::WorkerStats& workerStats() = 0;

  // --- For the terminal filter (the router), which produces the response. ---
  // The response, passed back through the other filters' response hooks to the client.
  virtual void encodeHeaders(ResponseHeaders& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(HeaderMap& trailers) = 0;
  // Tells a client that sent `Expect: 100-continue` to send its body.
  virtual void continueRequestBody() = 0;
  // Pauses or resumes reading the request (the upstream cannot take more yet).
  virtual void setRequestReadDisabled(bool disabled) = 0;
  // The response head reached the client (nothing can be retried or answered locally since).
  virtual bool responseStarted() const = 0;
  // The client asked for a protocol upgrade (WebSocket) / sent `Expect: 100-continue`.
  virtual bool upgradeRequested() const = 0;
  virtual bool expectContinue() const = 0;
  // The whole request arrived from the client.
  virtual bool requestComplete() const = 0;
};

// Every hook is called at most once per event, in order: request hooks from the first filter to
// the last (the router), response hooks from the last filter but one back to the first. Body
// hooks may edit data in passing.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual Next onRequestHeaders(RequestHeaders&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onRequestBody(Buffer&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onRequestTrailers(HeaderMap&) { return Next::Continue; }
  virtual Next onResponseHeaders(ResponseHeaders&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onResponseBody(Buffer&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onResponseTrailers(HeaderMap&) { return Next::Continue; }
  // The client's side is above / back below its output watermark (the router stops reading the
  // upstream meanwhile).
  virtual void onDownstreamWatermark(bool /*above*/) {}
  // Always runs once, whether the request completed, was answered locally or was reset; after
  // it, no hook runs and the filter must not call its context.
  virtual void onComplete(const StreamInfo&) {}
};

// One per `filters:` entry of a listener or route; shared by every worker, so it must be
// thread-safe.
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<Filter> create(StreamContext& context) const = 0;
};

}  // namespace remora::filters

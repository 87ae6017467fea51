// The filter API: per-request Filter objects built by shared, immutable FilterFactory configs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/buffer.h"
#include "proxy/message.h"

struct event_base;

namespace remora::filters {

enum class Next { Continue, Stop };  // Stop: the filter calls StreamContext::resume() later

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

class StreamContext {
 public:
  virtual ~StreamContext() = default;
  // Continues the chain after a filter returned Stop.
  virtual void resume() = 0;
  // Answers the request locally; the rest of the chain and the router are skipped.
  virtual void sendLocalReply(int status, std::string_view body) = 0;
  virtual const StreamInfo& info() const = 0;
  virtual event_base* loop() = 0;
};

// Request headers may be held: return Stop and call StreamContext::resume() later (the request
// body that arrives meanwhile is kept, with backpressure). The body and response callbacks see and
// may edit data in passing; their return value is Continue until a filter needs to hold them.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual Next onRequestHeaders(RequestHeaders&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onRequestBody(Buffer&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onResponseHeaders(ResponseHeaders&, bool /*end_stream*/) { return Next::Continue; }
  virtual Next onResponseBody(Buffer&, bool /*end_stream*/) { return Next::Continue; }
  // Always runs once, whether the request completed, was answered locally or was reset.
  virtual void onComplete(const StreamInfo&) {}
};

// One per `filters:` entry of a listener; shared by every worker, so it must be thread-safe.
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<Filter> create(StreamContext& context) const = 0;
};

}  // namespace remora::filters

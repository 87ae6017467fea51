// Stream: the filter manager of one request/response exchange. It decorates the request, matches
// the route once, runs the filter chain both ways (the listener's filters, the route's, then the
// router, which talks to upstreams), holds what a stopped filter holds up, and completes the
// exchange. It knows nothing of clusters, balancers or retries.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "discovery/snapshot.h"
#include "filters/filter.h"
#include "proxy/codec.h"
#include "proxy/idle_sweeper.h"
#include "proxy/recycled.h"
#include "proxy/stream_host.h"
#include "proxy/stream_info_pool.h"

namespace remora {

// Where a stream comes from, as its StreamInfo records it; the stream copies what it keeps.
struct StreamOrigin {
  std::string_view listener;
  std::string_view downstream_address;  // the client's ip:port
  std::string_view protocol;            // "HTTP/1.1", "HTTP/1.0", "HTTP/2"
};

class Stream : public Deferrable, public Recycled<Stream>, private IdleSweeper::Entry {
 public:
  // The stream's clocks start here. (Its StreamInfo is filled in place: building one outside and
  // moving its dozen strings in cost more than the fields it sets.)
  Stream(StreamHost& host, DownstreamCodec& codec, std::shared_ptr<const Snapshot> snapshot,
         const ListenerInfo& listener, const StreamOrigin& origin);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

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
  // The codec answers for the stream (a malformed or stalled request body).
  void sendLocalReply(int status, std::string_view body, std::string_view reason);
  bool responseComplete() const { return response_complete_; }
  bool requestComplete() const { return request_complete_; }

 private:
  // Each filter's view of the stream: the stream, and which filter it is (resume() continues
  // what that filter stopped).
  class Slot final : public filters::StreamContext {
   public:
    void resume() override;
    void sendLocalReply(const filters::LocalReply& reply) override;
    filters::StreamInfo& info() override { return *stream->info_; }
    event_base* loop() override { return stream->host_.base(); }
    const Snapshot& snapshot() const override { return *stream->snapshot_; }
    const CompiledRoute* route() const override { return stream->route_; }
    std::shared_ptr<const Snapshot> sharedSnapshot() const override { return stream->snapshot_; }
    stats::WorkerStats& workerStats() override { return stream->host_.stats(); }
    void encodeHeaders(ResponseHeaders& headers, bool end_stream) override;
    void encodeData(Buffer& data, bool end_stream) override;
    void encodeTrailers(HeaderMap& trailers) override;
    void continueRequestBody() override;
    void setRequestReadDisabled(bool disabled) override;
    bool responseStarted() const override { return stream->response_headers_sent_; }
    bool upgradeRequested() const override { return stream->upgrade_; }
    bool expectContinue() const override { return stream->expect_continue_; }
    bool requestComplete() const override { return stream->request_complete_; }

    Stream* stream = nullptr;
    int index = 0;
    std::unique_ptr<filters::Filter> filter;
  };

  enum class Event { Headers, Body, Trailers };
  // One direction's events held up by a filter that returned Stop.
  struct Held {
    int stopped_at = -1;  // the filter that stopped it; -1: flowing
    Event stopped_event = Event::Headers;
    // The event stopped at `stopped_at`, which continues with the filter after it.
    std::unique_ptr<Buffer> paused_body;
    bool paused_end = false;
    std::unique_ptr<HeaderMap> paused_trailers;
    // What arrived while stopped, which starts again from the first filter.
    std::unique_ptr<Buffer> queued_body;
    bool queued_end = false;
    std::unique_ptr<HeaderMap> queued_trailers;
    bool headers_done = false;  // the headers passed every filter

    bool stopped() const { return stopped_at >= 0; }
    bool anyQueued() const {
      return (queued_body != nullptr && !queued_body->empty()) || queued_end ||
             queued_trailers != nullptr;
    }
    size_t heldBytes() const {
      return (paused_body != nullptr ? paused_body->length() : 0) +
             (queued_body != nullptr ? queued_body->length() : 0);
    }
  };

  void decorateRequest();
  void buildChain();
  int routerIndex() const { return slot_count_ - 1; }
  // A local reply was started or the exchange is over: no more request processing.
  bool requestAbandoned() const { return completed_ || local_reply_started_; }

  // The request direction, from filter `from` on.
  void runRequestHeaders(int from);
  void runRequestBody(int from, Buffer& data, bool end_stream);
  void runRequestTrailers(int from, HeaderMap& trailers);
  void flushRequest();
  void queueRequestBody(Buffer& data, bool end_stream);

  // The response direction, from filter `from` back to the first.
  void startResponse(bool end_stream);
  void responseBody(Buffer& data, bool end_stream);
  void responseTrailers(HeaderMap& trailers);
  void runResponseHeaders(int from);
  void runResponseBody(int from, Buffer& data, bool end_stream);
  void runResponseTrailers(int from, HeaderMap& trailers);
  void flushResponse();

  void resume(int index);
  void localReply(const filters::LocalReply& reply);
  // Reading the request is paused while a held body is large, or while the router asks.
  void updateReadDisabled();
  // The router stops reading the upstream while the client, or a held response, is full.
  void updateResponseWatermark();
  uint64_t bufferLimit() const;
  void complete();
  // The stream idle timeout, checked by the worker's sweeper.
  void watchIdle();
  void onStill(IdleSweeper::Clock::duration still) override;

  StreamHost& host_;
  DownstreamCodec& codec_;
  std::shared_ptr<const Snapshot> snapshot_;  // pinned: the whole exchange sees one world
  const ListenerInfo& listener_;
  PooledStreamInfo info_;  // recycled: its strings keep their capacity
  const CompiledRoute* route_ = nullptr;
  // The listener's filters, the route's, the router last: kept in the stream itself when they
  // are few, as they nearly always are, so that a request allocates no array for them.
  static constexpr int kInlineSlots = 4;
  std::array<Slot, kInlineSlots> inline_slots_;
  std::unique_ptr<Slot[]> more_slots_;
  Slot* slots_ = nullptr;  // inline_slots_ or more_slots_
  int slot_count_ = 0;

  RequestHeaders request_;
  bool request_end_at_headers_ = false;
  bool expect_continue_ = false;
  bool upgrade_ = false;
  bool request_complete_ = false;
  Held request_held_;
  bool read_disabled_by_router_ = false;
  bool read_disabled_by_hold_ = false;
  bool read_disabled_ = false;  // as last told to the codec

  ResponseHeaders response_;
  bool response_end_at_headers_ = false;
  Held response_held_;
  bool downstream_above_ = false;  // the client's side is above its watermark
  bool response_watermark_told_ = false;
  uint32_t response_generation_ = 0;  // a local reply replaces the response in progress

  std::chrono::milliseconds idle_timeout_{0};

  bool local_reply_started_ = false;
  bool response_headers_sent_ = false;
  bool response_complete_ = false;
  bool completed_ = false;
};

}  // namespace remora

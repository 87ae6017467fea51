// Protocol detection for accepted connections: h2c prior knowledge, or HTTP/1.1.
#include "proxy/protocol_detector.h"

#include <cstring>
#include <string_view>

#include "proxy/event_time.h"
#include "proxy/http1_server_connection.h"
#include "proxy/http2_server_connection.h"

namespace remora {

namespace {
// RFC 9113 3.4: what every HTTP/2 client sends first. No HTTP/1 request starts with "PRI ".
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}  // namespace

ProtocolDetector::ProtocolDetector(Worker& worker, std::unique_ptr<Transport> transport,
                                   std::shared_ptr<ListenerShared> listener, std::string peer)
    : worker_(worker),
      transport_(std::move(transport)),
      listener_(std::move(listener)),
      peer_(std::move(peer)) {
  transport_->setCallbacks(*this);
  evtimer_assign(&timer_, worker.base(), &ProtocolDetector::onTimeout, this);
  config::Duration timeout{10000};
  if (const Snapshot* snapshot = worker.snapshot().get()) {
    if (const ListenerInfo* info = snapshot->findListener(listener_->name)) {
      timeout = info->config->request_header_timeout;
    }
  }
  if (timeout.count() > 0) {
    const timeval tv = toTimeval(timeout);
    evtimer_add(&timer_, &tv);
  }
}

ProtocolDetector::~ProtocolDetector() {
  evtimer_del(&timer_);
  if (!done_) listener_->connections.fetch_sub(1, std::memory_order_relaxed);
}

ProtocolDetector::Protocol ProtocolDetector::sniff() const {
  evbuffer* in = transport_->input();
  const size_t available = evbuffer_get_length(in);
  if (available == 0) return Protocol::Unknown;
  const size_t look = std::min(available, kPreface.size());
  char head[kPreface.size()];
  evbuffer_copyout(in, head, look);
  if (std::memcmp(head, kPreface.data(), look) != 0) return Protocol::Http1;
  return look == kPreface.size() ? Protocol::Http2 : Protocol::Unknown;
}

void ProtocolDetector::onReadable() {
  const Protocol protocol = sniff();
  if (protocol != Protocol::Unknown) handOff(protocol);
}

void ProtocolDetector::onConnected() {
  // TLS is up: ALPN decides; a client that negotiated nothing may still use prior knowledge.
  const std::string_view alpn = transport_->negotiatedProtocol();
  if (alpn == "h2") {
    handOff(Protocol::Http2);
  } else if (alpn == "http/1.1") {
    handOff(Protocol::Http1);
  } else {
    onReadable();
  }
}

void ProtocolDetector::handOff(Protocol protocol) {
  if (done_) return;
  done_ = true;
  evtimer_del(&timer_);
  std::unique_ptr<DownstreamConnection> next;
  if (protocol == Protocol::Http2) {
    next = std::make_unique<Http2ServerConnection>(worker_, std::move(transport_), listener_,
                                                   std::move(peer_));
  } else {
    next = std::make_unique<Http1ServerConnection>(worker_, std::move(transport_), listener_,
                                                   std::move(peer_));
  }
  worker_.replaceConnection(this, std::move(next));
}

void ProtocolDetector::onTimeout(evutil_socket_t, short, void* self) {
  static_cast<ProtocolDetector*>(self)->closeNow();
}

void ProtocolDetector::closeNow() {
  if (closed_ || transport_ == nullptr) return;
  closed_ = true;
  evtimer_del(&timer_);
  transport_->silence();
  worker_.onConnectionClosed(this);
}

}  // namespace remora

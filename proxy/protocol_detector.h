// ProtocolDetector: owns a new client connection until its protocol is known (the HTTP/2
// connection preface, or ALPN once TLS is up), then hands its transport to that codec.
#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

#include <memory>
#include <string>

#include "proxy/downstream_connection.h"
#include "proxy/transport.h"

namespace remora {

class ProtocolDetector : public DownstreamConnection, public TransportCallbacks {
 public:
  // `transport` is attached to the accepted socket. The listener's `request_header_timeout`
  // bounds how long a client may take to show its protocol.
  ProtocolDetector(Worker& worker, std::unique_ptr<Transport> transport,
                   std::shared_ptr<ListenerShared> listener, std::string peer);
  ~ProtocolDetector() override;

  // Nothing is in flight before the protocol is known.
  void closeWhenIdle() override { closeNow(); }
  void closeNow() override;

 private:
  enum class Protocol { Unknown, Http1, Http2 };
  void onReadable() override;
  void onWriteDrained() override {}
  void onConnected() override;
  void onTransportClosed(bool) override { closeNow(); }
  static void onTimeout(evutil_socket_t, short, void* self);
  Protocol sniff() const;
  void handOff(Protocol protocol);

  Worker& worker_;
  std::unique_ptr<Transport> transport_;
  std::shared_ptr<ListenerShared> listener_;
  std::string peer_;
  event timer_;
  bool done_ = false;  // handed off: the listener slot went with the transport
  bool closed_ = false;
};

}  // namespace remora

// The connect step both upstream codecs share.
#include "proxy/upstream_connect.h"

#include "proxy/log.h"

namespace remora {

bool connectToEndpoint(Transport& transport, const EndpointInfo& endpoint,
                       const config::Cluster& cluster, const TlsClientContext* tls) {
  const auto* address = reinterpret_cast<const sockaddr*>(&endpoint.address);
  if (tls != nullptr) {
    return transport.connectTls(address, endpoint.address_length, tls->get(), tls->sni());
  }
  if (cluster.tls) {
    LOG_WARN("upstream %s: no TLS context for cluster %s", endpoint.key.c_str(),
             cluster.name.c_str());
    return false;
  }
  return transport.connect(address, endpoint.address_length);
}

}  // namespace remora

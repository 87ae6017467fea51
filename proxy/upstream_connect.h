// Opening a connection to an upstream endpoint: TLS when the cluster says so, never plaintext in
// its place.
#pragma once

#include "config/config.h"
#include "discovery/snapshot.h"
#include "proxy/tls_context.h"
#include "proxy/transport.h"

namespace remora {

// Starts the connect (and the handshake with `tls`, null for plaintext); false when it failed
// at once. A cluster with TLS settings but no context found fails rather than go plaintext.
bool connectToEndpoint(Transport& transport, const EndpointInfo& endpoint,
                       const config::Cluster& cluster, const TlsClientContext* tls);

}  // namespace remora

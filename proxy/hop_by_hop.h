// The header fields that describe one connection (RFC 9110 7.6.1), which a proxy must not forward.
#pragma once

#include <string_view>

#include "proxy/header_map.h"

namespace remora {

// `keep_upgrade`: an Upgrade being accepted (WebSocket) keeps its `upgrade` field.
bool isHopByHop(std::string_view name, bool keep_upgrade);

// Whether an HTTP/1.1 request's Upgrade goes on to the upstream (and so keeps its `upgrade`
// field): a Connection field names upgrade, and Upgrade is not `h2c`,
// which asks this hop to switch protocols; remora answers in HTTP/1.1 (RFC 9113 deprecated the
// mechanism) and must not pass it to an upstream that might accept it.
bool upgradePassesOn(const HeaderMap& headers);

// Removes the hop-by-hop fields and those the `connection` fields name, in one pass.
void removeHopByHop(HeaderMap& headers, bool keep_upgrade);

}  // namespace remora

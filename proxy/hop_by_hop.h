// The header fields that describe one connection (RFC 9110 7.6.1), which a proxy must not forward.
#pragma once

#include <string_view>

#include "proxy/header_map.h"

namespace remora {

// `keep_upgrade`: an Upgrade being accepted (WebSocket) keeps its `upgrade` field.
bool isHopByHop(std::string_view name, bool keep_upgrade);

// Removes the hop-by-hop fields and those the `connection` fields name, in one pass.
void removeHopByHop(HeaderMap& headers, bool keep_upgrade);

}  // namespace remora

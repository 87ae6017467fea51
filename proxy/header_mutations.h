// Applies configured header additions and removals (route-level or the `headers` filter).
#pragma once

#include "config/config.h"
#include "proxy/header_map.h"

namespace remora {

// Removals first, then additions (which replace any field of the same name).
void applyHeaderMutations(const config::HeaderMutations& mutations, HeaderMap& headers);

}  // namespace remora

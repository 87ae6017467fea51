// Header additions and removals from config.
#include "proxy/header_mutations.h"

namespace remora {

void applyHeaderMutations(const config::HeaderMutations& mutations, HeaderMap& headers) {
  for (const auto& name : mutations.remove) headers.remove(name);
  for (const auto& [name, value] : mutations.add) headers.set(name, value);
}

}  // namespace remora

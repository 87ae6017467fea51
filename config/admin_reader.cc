// Admin block reading: two addresses, which must not name the same fixed port.
#include "config/admin_reader.h"

namespace remora::config {

void readAdmin(YamlReader& reader, const Located& at, Admin& out) {
  std::optional<Fields> fields = reader.mapping(at, "admin", {"address", "probe_address"});
  if (!fields) return;
  if (const Field* f = fields->find("address")) {
    if (auto address = reader.address(f->value, "address")) out.address = *address;
  }
  if (const Field* f = fields->find("probe_address")) {
    out.probe_address = reader.address(f->value, "probe_address");
    // Port 0 twice is two listeners; the same fixed port twice could never be bound.
    if (out.probe_address && out.probe_address->port != 0 &&
        out.probe_address->text() == out.address.text()) {
      reader.error(f->value.where, "probe_address must differ from address (" + out.address.text() +
                                       "): it is a second listener");
    }
  }
}

}  // namespace remora::config

// Reading a static endpoint ("host:port" or {address, weight, meta}) from YAML.
#include "config/endpoint_reader.h"

namespace remora::config {

std::optional<Endpoint> readEndpoint(YamlReader& reader, const Located& at,
                                     std::initializer_list<std::string_view> known,
                                     std::optional<Fields>& fields) {
  fields.reset();
  if (at.node.IsScalar()) {
    std::optional<Address> address = reader.address(at, "endpoint");
    if (!address) return std::nullopt;
    return Endpoint{*address, 1, {}};
  }
  fields = reader.mapping(at, "endpoint", known);
  if (!fields) return std::nullopt;
  Endpoint endpoint;
  bool ok = reader.require(*fields, "endpoint", "address");
  if (const Field* field = fields->find("address")) {
    std::optional<Address> address = reader.address(field->value, "address");
    ok = ok && address;
    if (address) endpoint.address = *address;
  }
  if (const Field* field = fields->find("weight")) {
    std::optional<uint64_t> weight = reader.integer(field->value, "weight", 1, kMaxEndpointWeight);
    ok = ok && weight;
    if (weight) endpoint.weight = static_cast<uint32_t>(*weight);
  }
  if (const Field* field = fields->find("meta")) {
    std::optional<Metadata> meta = reader.stringMap(field->value, "meta");
    ok = ok && meta;
    if (meta) endpoint.meta = std::move(*meta);
  }
  if (!ok) return std::nullopt;
  return endpoint;
}

}  // namespace remora::config

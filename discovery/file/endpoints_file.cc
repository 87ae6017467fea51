// The `file` registry's format: {service: [{address, weight, meta, health} | "host:port"]}.
#include "discovery/file/endpoints_file.h"

#include "config/endpoint_reader.h"
#include "config/yaml_reader.h"
#include "config/yaml_source.h"

namespace remora::discovery {
namespace {

using config::Field;
using config::Fields;
using config::Located;
using config::YamlReader;

std::optional<FileEndpoint::Health> readHealth(YamlReader& reader, const Located& at) {
  std::optional<std::string> text = reader.string(at, "health");
  if (!text) return std::nullopt;
  if (*text == "healthy") return FileEndpoint::Health::Healthy;
  if (*text == "unhealthy") return FileEndpoint::Health::Unhealthy;
  if (*text == "draining") return FileEndpoint::Health::Draining;
  reader.error(at.where, "unknown health '" + *text + "' (known: healthy, unhealthy, draining)");
  return std::nullopt;
}

EndpointsFile readServices(YamlReader& reader, const Located& root) {
  EndpointsFile services;
  std::optional<Fields> fields = reader.freeMapping(root, "endpoints file");
  if (!fields) return services;
  for (const Field& service : fields->all()) {
    if (service.key.empty()) {
      reader.error(service.key_where, "service name must not be empty");
      continue;
    }
    std::vector<FileEndpoint>& endpoints = services[service.key];
    // A service listed with no endpoints is a valid statement: it has none right now.
    if (service.value.node.IsNull()) continue;
    std::optional<std::vector<Located>> items = reader.sequence(service.value, service.key);
    if (!items) continue;
    std::optional<Fields> endpoint_fields;
    for (const Located& item : *items) {
      std::optional<config::Endpoint> endpoint = config::readEndpoint(
          reader, item, {"address", "weight", "meta", "health"}, endpoint_fields);
      FileEndpoint entry;
      bool ok = endpoint.has_value();
      if (endpoint_fields) {
        if (const Field* health = endpoint_fields->find("health")) {
          std::optional<FileEndpoint::Health> value = readHealth(reader, health->value);
          ok = ok && value;
          if (value) entry.health = *value;
        }
      }
      if (!ok) continue;
      entry.endpoint = std::move(*endpoint);
      endpoints.push_back(std::move(entry));
    }
  }
  return services;
}

}  // namespace

Result<EndpointsFile> parseEndpointsFile(const std::string& yaml_text,
                                         const std::string& source_name) {
  std::vector<Error> errors;
  std::optional<config::YamlDocument> document =
      config::parseYaml(yaml_text, source_name, {}, errors);
  if (!document) return errors;
  try {
    YamlReader reader(source_name);
    EndpointsFile services;
    if (std::optional<Located> root = reader.root(document->root)) {
      services = readServices(reader, *root);
    }
    errors = reader.takeErrors();
    if (!errors.empty()) {
      config::sortByPlace(errors);
      return errors;
    }
    return services;
  } catch (const YAML::Exception& e) {
    // The readers check types before every access; this is a last line of defence.
    return Error{{source_name, e.mark.line + 1, e.mark.column + 1}, e.msg};
  }
}

}  // namespace remora::discovery

// The `config_source:` block.
#include "config/config_source_reader.h"

namespace remora::config {

std::optional<ConfigSource> readConfigSource(YamlReader& reader, const Located& at) {
  std::optional<Fields> fields = reader.mapping(at, "config_source", {"consul", "etcd", "cache"});
  if (!fields) return std::nullopt;
  const Field* consul = fields->find("consul");
  const Field* etcd = fields->find("etcd");
  if ((consul == nullptr) == (etcd == nullptr)) {
    reader.error(at.where, "config_source takes exactly one of consul, etcd");
    return std::nullopt;
  }
  ConfigSource source;
  source.location = at.where;
  source.store = consul != nullptr ? ConfigSource::Store::Consul : ConfigSource::Store::Etcd;
  const Field& store = consul != nullptr ? *consul : *etcd;
  std::optional<Fields> store_fields =
      reader.mapping(store.value, store.key, {"key", "instance_key"});
  if (!store_fields || !reader.require(*store_fields, store.key, "key")) return std::nullopt;
  for (std::string_view name : {"key", "instance_key"}) {
    const Field* key = store_fields->find(name);
    if (key == nullptr) continue;
    std::optional<std::string> text = reader.nonEmptyString(key->value, name);
    if (!text) return std::nullopt;
    if (consul != nullptr && text->starts_with('/')) {
      reader.error(key->value.where, "a consul key has no leading '/': '" + *text + "'");
      return std::nullopt;
    }
    (name == "key" ? source.key : source.instance_key) = *text;
  }
  if (source.instance_key == source.key) {
    reader.error(store.value.where, "instance_key must differ from key");
    return std::nullopt;
  }
  if (const Field* cache = fields->find("cache")) {
    std::optional<std::string> path = reader.nonEmptyString(cache->value, "cache");
    if (!path) return std::nullopt;
    source.cache = *path;
  }
  return source;
}

void checkConfigSource(YamlReader& reader, const Config& config) {
  if (!config.config_source) return;
  const bool consul = config.config_source->store == ConfigSource::Store::Consul;
  if (consul ? config.registry.consul.has_value() : config.registry.etcd.has_value()) return;
  reader.error(config.config_source->location,
               std::string("config_source ") + (consul ? "consul" : "etcd") + " needs registry: " +
                   (consul ? "consul" : "etcd") + " (its address, token and TLS reach the key)");
}

}  // namespace remora::config

// Service and health check reading: required keys, bounds, and the defaults that follow others.
#include "config/service_reader.h"

namespace remora::config {
namespace {

constexpr uint64_t kMaxThreshold = 1000;
constexpr uint64_t kMaxWeight = 65535;  // Consul stores weights as ints; keep them sane

void readStrings(YamlReader& reader, const Located& at, std::string_view what,
                 std::vector<std::string>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, what);
  if (!items) return;
  for (const Located& item : *items) {
    if (auto value = reader.nonEmptyString(item, what)) out.push_back(*value);
  }
}

}  // namespace

std::optional<HealthCheck> readHealthCheck(YamlReader& reader, const Located& at) {
  HealthCheck check;
  if (at.node.IsNull()) return check;
  std::optional<Fields> fields =
      reader.mapping(at, "health check",
                     {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"});
  if (!fields) return std::nullopt;
  bool ok = true;
  if (const Field* f = fields->find("path")) {
    auto path = reader.nonEmptyString(f->value, "path");
    if (path && !path->starts_with("/")) {
      reader.error(f->value.where, "health check path must start with '/'");
      ok = false;
    } else if (path) {
      check.path = *path;
    } else {
      ok = false;
    }
  }
  auto duration = [&](std::string_view key, Duration& out) {
    const Field* f = fields->find(key);
    if (f == nullptr) return;
    auto value = reader.duration(f->value, key);
    if (!value || value->count() == 0) {
      if (value) reader.error(f->value.where, std::string(key) + " must be more than 0");
      ok = false;
      return;
    }
    out = *value;
  };
  duration("interval", check.interval);
  duration("timeout", check.timeout);
  auto threshold = [&](std::string_view key, uint32_t& out) {
    const Field* f = fields->find(key);
    if (f == nullptr) return;
    auto value = reader.integer(f->value, key, 1, kMaxThreshold);
    if (!value) {
      ok = false;
      return;
    }
    out = static_cast<uint32_t>(*value);
  };
  threshold("healthy_threshold", check.healthy_threshold);
  threshold("unhealthy_threshold", check.unhealthy_threshold);
  if (ok && check.timeout > check.interval) {
    reader.error(fields->where(), "health check timeout must not exceed its interval");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return check;
}

std::optional<Service> readService(YamlReader& reader, const Located& at) {
  std::optional<Fields> fields = reader.mapping(
      at, "service", {"name", "id", "address", "port", "tags", "meta", "weights", "app", "health"});
  if (!fields) return std::nullopt;
  Service service;
  bool ok = reader.require(*fields, "service", "name");
  ok = reader.require(*fields, "service", "port") && ok;
  if (const Field* f = fields->find("name")) {
    auto name = reader.nonEmptyString(f->value, "name");
    if (name && name->find('/') != std::string::npos) {
      reader.error(f->value.where, "service name must not contain '/'");
      ok = false;
    } else if (name) {
      service.name = *name;
    } else {
      ok = false;
    }
  }
  if (const Field* f = fields->find("id")) {
    auto id = reader.nonEmptyString(f->value, "id");
    if (id && id->find('/') != std::string::npos) {
      reader.error(f->value.where, "service id must not contain '/'");
      ok = false;
    } else if (id) {
      service.id = *id;
    } else {
      ok = false;
    }
  }
  if (service.id.empty()) service.id = service.name;
  service.address = "127.0.0.1";
  if (const Field* f = fields->find("address")) {
    if (auto address = reader.nonEmptyString(f->value, "address")) {
      service.address = *address;
    } else {
      ok = false;
    }
  }
  if (const Field* f = fields->find("port")) {
    if (auto port = reader.integer(f->value, "port", 1, 65535)) {
      service.port = static_cast<uint16_t>(*port);
    } else {
      ok = false;
    }
  }
  if (const Field* f = fields->find("tags")) readStrings(reader, f->value, "tags", service.tags);
  if (const Field* f = fields->find("meta")) {
    if (auto meta = reader.stringMap(f->value, "meta")) service.meta = *meta;
  }
  if (const Field* f = fields->find("weights")) {
    if (auto weights = reader.mapping(f->value, "weights", {"passing", "warning"})) {
      if (const Field* p = weights->find("passing")) {
        if (auto value = reader.integer(p->value, "passing", 1, kMaxWeight)) {
          service.weight_passing = static_cast<uint32_t>(*value);
        }
      }
      if (const Field* w = weights->find("warning")) {
        if (auto value = reader.integer(w->value, "warning", 0, kMaxWeight)) {
          service.weight_warning = static_cast<uint32_t>(*value);
        }
      }
    }
  }
  if (const Field* f = fields->find("app")) {
    if (auto app = reader.address(f->value, "app")) service.app = *app;
  }
  if (const Field* f = fields->find("health")) {
    if (!fields->has("app")) {
      reader.error(f->key_where, "service health needs 'app', the address it checks");
    }
    if (auto health = readHealthCheck(reader, f->value)) service.health = *health;
  }
  if (!ok) return std::nullopt;
  return service;
}

}  // namespace remora::config

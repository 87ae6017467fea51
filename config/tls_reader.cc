// TLS settings reading: the shape and the required keys; the files are checked when prepared.
#include "config/tls_reader.h"

namespace remora::config {
namespace {

// A non-empty path at `key`, or "" (with the error reported when it is malformed).
std::string readPath(YamlReader& reader, const Fields& fields, std::string_view key, bool& ok) {
  const Field* field = fields.find(key);
  if (field == nullptr) return {};
  std::optional<std::string> path = reader.nonEmptyString(field->value, key);
  if (!path) {
    ok = false;
    return {};
  }
  return *path;
}

}  // namespace

std::optional<TlsServer> readTlsServer(YamlReader& reader, const Field& field) {
  std::optional<Fields> fields = reader.mapping(field.value, "tls", {"cert", "key", "ca"});
  if (!fields) return std::nullopt;
  bool ok = reader.require(*fields, "tls", "cert");
  ok = reader.require(*fields, "tls", "key") && ok;
  TlsServer tls;
  tls.location = field.key_where;
  tls.cert = readPath(reader, *fields, "cert", ok);
  tls.key = readPath(reader, *fields, "key", ok);
  tls.ca = readPath(reader, *fields, "ca", ok);
  if (!ok) return std::nullopt;
  return tls;
}

std::optional<TlsClient> readTlsClient(YamlReader& reader, const Field& field) {
  std::optional<Fields> fields = reader.mapping(field.value, "tls", {"ca", "cert", "key", "sni"});
  if (!fields) return std::nullopt;
  bool ok = reader.require(*fields, "tls", "ca");
  TlsClient tls;
  tls.location = field.key_where;
  tls.ca = readPath(reader, *fields, "ca", ok);
  tls.cert = readPath(reader, *fields, "cert", ok);
  tls.key = readPath(reader, *fields, "key", ok);
  tls.sni = readPath(reader, *fields, "sni", ok);
  if (fields->has("cert") != fields->has("key")) {
    reader.error(field.key_where, std::string("tls: '") + (fields->has("cert") ? "cert" : "key") +
                                      "' needs '" + (fields->has("cert") ? "key" : "cert") +
                                      "' too (a client certificate comes with its key)");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return tls;
}

}  // namespace remora::config

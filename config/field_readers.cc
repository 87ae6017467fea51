// Optional typed keys and name uniqueness, shared by the block readers.
#include "config/field_readers.h"

namespace remora::config {

void readDuration(YamlReader& reader, const Fields& fields, std::string_view key, Duration& out) {
  if (const Field* f = fields.find(key)) {
    if (auto value = reader.duration(f->value, key)) out = *value;
  }
}

bool readPositiveDuration(YamlReader& reader, const Fields& fields, std::string_view key,
                          Duration& out) {
  const Field* f = fields.find(key);
  if (f == nullptr) return true;
  std::optional<Duration> value = reader.duration(f->value, key);
  if (!value) return false;
  if (value->count() == 0) {
    reader.error(f->value.where, std::string(key) + " must be more than 0");
    return false;
  }
  out = *value;
  return true;
}

void readSize(YamlReader& reader, const Fields& fields, std::string_view key, uint64_t min,
              uint64_t max, uint64_t& out) {
  if (const Field* f = fields.find(key)) {
    if (auto value = reader.size(f->value, key, min, max)) out = *value;
  }
}

std::optional<Fields> mappingOrOff(YamlReader& reader, const Located& at, std::string_view what,
                                   std::initializer_list<std::string_view> known, bool& enabled) {
  if (at.node.IsMap()) return reader.mapping(at, what, known);
  std::string expected = std::string(what) + " must be a mapping or 'off'";
  if (!at.node.IsScalar()) {
    reader.error(at.where, expected + ", not " + std::string(describe(at.node)));
    return std::nullopt;
  }
  std::optional<std::string> text = reader.string(at, what);
  if (!text) return std::nullopt;
  if (*text == "off") {
    enabled = false;
  } else {
    reader.error(at.where, expected + ", not '" + *text + "'");
  }
  return std::nullopt;
}

void readProtocol(YamlReader& reader, const Located& at, HttpProtocol& out) {
  std::optional<std::string> name = reader.string(at, "protocol");
  if (!name) return;
  if (*name == "auto") {
    out = HttpProtocol::Auto;
  } else if (*name == "http1") {
    out = HttpProtocol::Http1;
  } else if (*name == "http2") {
    out = HttpProtocol::Http2;
  } else {
    reader.error(at.where, "unknown protocol '" + *name + "' (known: auto, http1, http2)");
  }
}

void UniqueNames::add(YamlReader& reader, const std::string& name, const SourceLocation& where) {
  auto [it, inserted] = seen_.emplace(name, where);
  if (!inserted) {
    reader.error(where,
                 "duplicate " + kind_ + " '" + name + "' (first at " + lineCol(it->second) + ")");
  }
}

bool isHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size()) return true;
  }
  return false;
}

}  // namespace remora::config

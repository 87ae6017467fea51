// Mirror reading: the target, the share of requests, the comparison asked for, and the bounds.
#include "config/mirror_reader.h"

#include "config/field_readers.h"

namespace remora::config {
namespace {

// A copy is a best-effort sample: a body beyond this is a typo, and would be held in memory.
constexpr uint64_t kMaxMirrorBodyBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxConcurrent = 1'000'000;

// `true`/`false`, or {body: BOOL}: the status class is always compared, the body hash on demand.
void readCompare(YamlReader& reader, const Located& at, Mirror& out) {
  if (at.node.IsMap()) {
    std::optional<Fields> fields = reader.mapping(at, "compare", {"body"});
    if (!fields) return;
    out.compare = true;
    if (const Field* f = fields->find("body")) {
      if (auto body = reader.boolean(f->value, "body")) out.compare_body = *body;
    }
    return;
  }
  if (auto compare = reader.boolean(at, "compare")) out.compare = *compare;
}

// The keys a route's mirror and a canary's shadow share.
void readSettings(YamlReader& reader, const Fields& fields, Mirror& mirror) {
  if (const Field* f = fields.find("percent")) {
    if (auto percent = reader.number(f->value, "percent", 0, 100)) mirror.percent = *percent;
  }
  if (const Field* f = fields.find("compare")) readCompare(reader, f->value, mirror);
  readSize(reader, fields, "max_body_bytes", 0, kMaxMirrorBodyBytes, mirror.max_body_bytes);
  readInteger(reader, fields, "max_concurrent", 1, kMaxConcurrent, mirror.max_concurrent);
  if (const Field* f = fields.find("timeout")) {
    if (auto timeout = reader.duration(f->value, "timeout")) {
      if (timeout->count() == 0) {
        reader.error(f->value.where,
                     "mirror timeout must be more than 0: a copy is never "
                     "left without a deadline");
      } else {
        mirror.timeout = *timeout;
      }
    }
  }
}

}  // namespace

std::optional<Mirror> readMirror(YamlReader& reader, const Located& at, References& cluster_refs) {
  std::optional<Fields> fields = reader.mapping(
      at, "mirror",
      {"cluster", "subset", "percent", "compare", "max_body_bytes", "max_concurrent", "timeout"});
  if (!fields) return std::nullopt;
  Mirror mirror;
  mirror.location = at.where;
  if (!reader.require(*fields, "mirror", "cluster")) return std::nullopt;
  if (auto name = reader.nonEmptyString(fields->find("cluster")->value, "cluster")) {
    mirror.cluster = *name;
    cluster_refs.push_back({*name, fields->find("cluster")->value.where});
  }
  if (const Field* f = fields->find("subset")) {
    if (auto subset = reader.stringMap(f->value, "subset")) mirror.subset = std::move(*subset);
  }
  readSettings(reader, *fields, mirror);
  return mirror;
}

std::optional<Mirror> readCanaryShadow(YamlReader& reader, const Located& at) {
  if (!at.node.IsMap()) {
    std::optional<bool> on = reader.boolean(at, "shadow");
    if (!on || !*on) return std::nullopt;
    Mirror shadow;
    shadow.location = at.where;
    return shadow;
  }
  std::optional<Fields> fields = reader.mapping(
      at, "shadow", {"percent", "compare", "max_body_bytes", "max_concurrent", "timeout"});
  if (!fields) return std::nullopt;
  Mirror shadow;
  shadow.location = at.where;
  readSettings(reader, *fields, shadow);
  if (shadow.percent <= 0) {
    reader.error(fields->find("percent")->value.where,
                 "a canary's shadow percent must be more than 0: the shadow step is judged on "
                 "its copies");
    return std::nullopt;
  }
  return shadow;
}

}  // namespace remora::config

// Hash policy reading: one source per entry, its name checked, a cookie's time to live bounded.
#include "config/hash_policy_reader.h"

#include "config/field_readers.h"
#include "config/http_syntax.h"

namespace remora::config {
namespace {

// A cookie that outlives a year outlives the deployment it pins users to.
constexpr Duration kMaxCookieTtl{366LL * 24 * 3600 * 1000};

void readCookie(YamlReader& reader, const Located& at, HashPolicy& out) {
  out.kind = HashPolicy::Kind::Cookie;
  if (!at.node.IsMap()) {
    if (auto name = reader.nonEmptyString(at, "cookie")) out.name = *name;
    return;
  }
  std::optional<Fields> fields = reader.mapping(at, "cookie", {"name", "ttl"});
  if (!fields) return;
  if (reader.require(*fields, "cookie", "name")) {
    if (auto name = reader.nonEmptyString(fields->find("name")->value, "name")) out.name = *name;
  }
  if (const Field* f = fields->find("ttl")) {
    if (auto ttl = reader.duration(f->value, "ttl")) {
      if (*ttl > kMaxCookieTtl || *ttl < Duration(1000)) {
        reader.error(f->value.where,
                     "a hash cookie's ttl must be 1s to 366d (Max-Age counts seconds)");
      } else {
        out.cookie_ttl = *ttl;
      }
    }
  }
}

}  // namespace

void readHashPolicies(YamlReader& reader, const Located& at, std::vector<HashPolicy>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "hash");
  if (!items) return;
  for (const Located& item : *items) {
    std::optional<Fields> fields =
        reader.mapping(item, "hash entry", {"header", "cookie", "source_ip", "query"});
    if (!fields) continue;
    if (fields->all().size() != 1) {
      // With no known key left, an unknown one was reported already.
      if (fields->all().size() > 1 || item.node.size() == 0) {
        reader.error(item.where,
                     "a hash entry takes exactly one of header, cookie, source_ip, query");
      }
      continue;
    }
    const Field& f = fields->all().front();
    HashPolicy policy;
    if (f.key == "header") {
      policy.kind = HashPolicy::Kind::Header;
      if (auto name = reader.nonEmptyString(f.value, "header")) policy.name = toLower(*name);
    } else if (f.key == "cookie") {
      readCookie(reader, f.value, policy);
    } else if (f.key == "source_ip") {
      policy.kind = HashPolicy::Kind::SourceIp;
      if (auto on = reader.boolean(f.value, "source_ip"); on && !*on) {
        reader.error(f.value.where, "source_ip: false hashes nothing; leave the entry out");
      }
    } else {
      policy.kind = HashPolicy::Kind::Query;
      if (auto name = reader.nonEmptyString(f.value, "query")) policy.name = *name;
    }
    out.push_back(std::move(policy));
  }
}

}  // namespace remora::config

// Registry settings reading: the provider's keys, their bounds, and URLs the client can dial.
#include "config/registry_reader.h"

#include <algorithm>

#include "config/field_readers.h"

namespace remora::config {
namespace {

constexpr Duration kMaxConsulWait{600000};  // Consul caps a blocking query's wait at 10m
constexpr Duration kMinDeregisterAfter{60000};

void readString(YamlReader& reader, const Fields& fields, std::string_view key, std::string& out) {
  if (const Field* f = fields.find(key)) {
    if (auto value = reader.string(f->value, key)) out = *value;
  }
}

// An http:// or https:// URL without a path: the client adds the API paths.
void readUrl(YamlReader& reader, const Located& at, std::string_view what, std::string& out) {
  std::optional<std::string> url = reader.nonEmptyString(at, what);
  if (!url) return;
  if (!isHttpUrl(*url)) {
    reader.error(at.where,
                 std::string(what) + " must be an http:// or https:// URL, not '" + *url + "'");
    return;
  }
  while (url->ends_with("/")) url->pop_back();
  out = *url;
}

// The keys `ca`, `cert`, `key` and `tls_server_name` of a provider reached over `https`.
void readTls(YamlReader& reader, const Fields& fields, const std::string& what, bool https,
             RegistryTls& out) {
  readString(reader, fields, "ca", out.ca);
  readString(reader, fields, "cert", out.cert);
  readString(reader, fields, "key", out.key);
  readString(reader, fields, "tls_server_name", out.server_name);
  if (out.cert.empty() != out.key.empty()) {
    reader.error(fields.where(), what + ": cert and key come together");
  }
  if (https && out.ca.empty()) {
    reader.error(fields.where(), what + ": an https:// address needs 'ca'");
  }
}

void readConsul(YamlReader& reader, const Located& at, ConsulRegistry& out) {
  if (at.node.IsNull()) return;  // `consul:` alone: every default
  std::optional<Fields> fields =
      reader.mapping(at, "registry consul",
                     {"address", "token", "datacenter", "stale", "wait", "ca", "cert", "key",
                      "tls_server_name", "check", "deregister_critical_after"});
  if (!fields) return;
  if (const Field* f = fields->find("address")) readUrl(reader, f->value, "address", out.address);
  readString(reader, *fields, "token", out.token);
  readString(reader, *fields, "datacenter", out.datacenter);
  if (const Field* f = fields->find("stale")) {
    if (auto value = reader.boolean(f->value, "stale")) out.stale = *value;
  }
  if (const Field* f = fields->find("wait")) {
    if (auto value = reader.duration(f->value, "wait")) {
      if (value->count() < 1000 || *value > kMaxConsulWait) {
        reader.error(f->value.where, "wait must be between 1s and 10m (Consul's cap)");
      } else {
        out.wait = *value;
      }
    }
  }
  readTls(reader, *fields, "registry consul", out.address.starts_with("https://"), out.tls);
  if (const Field* f = fields->find("check")) {
    if (auto value = reader.string(f->value, "check")) {
      if (*value == "ttl") {
        out.check = ConsulRegistry::Check::Ttl;
      } else if (*value == "http") {
        out.check = ConsulRegistry::Check::Http;
      } else {
        reader.error(f->value.where, "unknown check '" + *value + "' (known: ttl, http)");
      }
    }
  }
  if (const Field* f = fields->find("deregister_critical_after")) {
    if (auto value = reader.duration(f->value, "deregister_critical_after")) {
      if (*value < kMinDeregisterAfter) {
        reader.error(f->value.where,
                     "deregister_critical_after must be at least 1m (Consul's "
                     "minimum)");
      } else {
        out.deregister_critical_after = *value;
      }
    }
  }
}

void readEtcd(YamlReader& reader, const Located& at, EtcdRegistry& out) {
  if (at.node.IsNull()) return;  // `consul:` alone: every default
  std::optional<Fields> fields =
      reader.mapping(at, "registry etcd",
                     {"endpoints", "prefix", "lease_ttl", "username", "password", "ca", "cert",
                      "key", "tls_server_name"});
  if (!fields) return;
  if (const Field* f = fields->find("endpoints")) {
    if (auto items = reader.sequence(f->value, "endpoints")) {
      out.endpoints.clear();
      if (items->empty()) reader.error(f->value.where, "endpoints must not be empty");
      for (const Located& item : *items) {
        std::string url;
        readUrl(reader, item, "etcd endpoint", url);
        if (!url.empty()) out.endpoints.push_back(url);
      }
    }
  }
  if (const Field* f = fields->find("prefix")) {
    if (auto prefix = reader.nonEmptyString(f->value, "prefix")) {
      out.prefix = *prefix;
      // `users` must not match `users-admin`: instance keys are always `<prefix><service>/<id>`.
      if (!out.prefix.ends_with("/")) out.prefix += "/";
    }
  }
  if (const Field* f = fields->find("lease_ttl")) {
    if (auto value = reader.duration(f->value, "lease_ttl")) {
      if (value->count() < 2000) {
        reader.error(f->value.where, "lease_ttl must be at least 2s");
      } else {
        out.lease_ttl = *value;
      }
    }
  }
  readString(reader, *fields, "username", out.username);
  readString(reader, *fields, "password", out.password);
  if (out.username.empty() != out.password.empty()) {
    reader.error(fields->where(), "registry etcd: username and password come together");
  }
  const bool https =
      std::any_of(out.endpoints.begin(), out.endpoints.end(),
                  [](const std::string& url) { return url.starts_with("https://"); });
  readTls(reader, *fields, "registry etcd", https, out.tls);
}

void readDns(YamlReader& reader, const Located& at, DnsRegistry& out) {
  if (at.node.IsNull()) return;  // `consul:` alone: every default
  std::optional<Fields> fields =
      reader.mapping(at, "registry dns", {"servers", "domain", "min_ttl", "timeout"});
  if (!fields) return;
  if (const Field* f = fields->find("servers")) {
    if (auto items = reader.sequence(f->value, "servers")) {
      for (const Located& item : *items) {
        if (auto address = reader.address(item, "server")) out.servers.push_back(*address);
      }
    }
  }
  readString(reader, *fields, "domain", out.domain);
  while (out.domain.starts_with(".")) out.domain.erase(0, 1);
  while (out.domain.ends_with(".")) out.domain.pop_back();
  readDuration(reader, *fields, "min_ttl", out.min_ttl);
  if (const Field* f = fields->find("timeout")) {
    if (auto value = reader.duration(f->value, "timeout")) {
      if (value->count() == 0) {
        reader.error(f->value.where, "timeout must be more than 0");
      } else {
        out.timeout = *value;
      }
    }
  }
}

void readFile(YamlReader& reader, const Located& at, FileRegistry& out) {
  std::optional<Fields> fields = reader.mapping(at, "registry file", {"path"});
  if (!fields) return;
  if (!reader.require(*fields, "registry file", "path")) return;
  if (auto path = reader.nonEmptyString(fields->find("path")->value, "path")) out.path = *path;
}

}  // namespace

void readRegistry(YamlReader& reader, const Located& at, Registry& out) {
  std::optional<Fields> fields = reader.mapping(at, "registry", {"consul", "etcd", "dns", "file"});
  if (!fields) return;
  if (fields->all().size() != 1) {
    reader.error(at.where, "registry needs exactly one of: consul, etcd, dns, file");
    if (fields->all().empty()) return;
  }
  const Field& provider = fields->all().front();
  if (provider.key == "consul") readConsul(reader, provider.value, out.consul.emplace());
  if (provider.key == "etcd") readEtcd(reader, provider.value, out.etcd.emplace());
  if (provider.key == "dns") readDns(reader, provider.value, out.dns.emplace());
  if (provider.key == "file") readFile(reader, provider.value, out.file.emplace());
}

}  // namespace remora::config

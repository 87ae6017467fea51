// Loading a remora YAML config into a typed, validated Config.
#include "config/loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "config/admin_reader.h"
#include "config/canary_reader.h"
#include "config/cluster_reader.h"
#include "config/config_source_reader.h"
#include "config/field_readers.h"
#include "config/listener_reader.h"
#include "config/references.h"
#include "config/registry_reader.h"
#include "config/service_reader.h"
#include "config/yaml_reader.h"
#include "config/yaml_source.h"

namespace remora::config {
namespace {

constexpr uint32_t kMaxWorkers = 1024;

class ConfigReader {
 public:
  ConfigReader(std::string source, std::string source_path,
               std::set<std::pair<int, int>> unexpanded)
      : reader_(std::move(source), std::move(unexpanded)) {
    config_.source_path = std::move(source_path);
  }

  // `earlier_errors` (from ${VAR} expansion) are merged in. `value` is the config source's
  // document, when the file's config_source has been read.
  Result<std::shared_ptr<const Config>> read(const YAML::Node& document,
                                             std::vector<Error> earlier_errors,
                                             const YamlDocument* value = nullptr,
                                             const std::string& value_name = "") {
    if (std::optional<Located> root = reader_.root(document)) readTop(*root);
    std::vector<Error> errors = std::move(earlier_errors);
    if (value != nullptr && config_.config_source) {
      YamlReader value_reader(value_name, value->unexpanded);
      if (std::optional<Located> root = value_reader.root(value->root)) {
        readSourceValue(value_reader, *root);
      }
      for (Error& error : value_reader.takeErrors()) errors.push_back(std::move(error));
    }
    checkReferences();
    for (Error& error : reader_.takeErrors()) errors.push_back(std::move(error));
    if (!errors.empty()) {
      sortByPlace(errors);
      return errors;
    }
    return std::shared_ptr<const Config>(std::make_shared<Config>(std::move(config_)));
  }

 private:
  void readTop(const Located& root) {
    std::optional<Fields> fields =
        reader_.mapping(root, "config",
                        {"admin", "workers", "service", "registry", "lifecycle", "config_source",
                         "listeners", "clusters", "canaries"});
    if (!fields) return;
    if (const Field* f = fields->find("config_source")) {
      config_.config_source = readConfigSource(reader_, f->value);
      for (std::string_view block : {"listeners", "clusters", "canaries"}) {
        const Field* written = fields->find(block);
        if (written == nullptr || !config_.config_source) continue;
        reader_.error(written->key_where, std::string(block) + " come from " +
                                              config_.config_source->name() +
                                              " (config_source), not from this file");
      }
    }
    // Read in this order whatever the file's: listeners need the service (the inbound one is
    // trusted by default).
    if (const Field* f = fields->find("admin")) readAdmin(reader_, f->value, config_.admin);
    readInteger(reader_, *fields, "workers", 0, kMaxWorkers, config_.workers);
    if (const Field* f = fields->find("service")) config_.service = readService(reader_, f->value);
    if (const Field* f = fields->find("registry")) {
      config::readRegistry(reader_, f->value, config_.registry);
    }
    if (const Field* f = fields->find("lifecycle")) readLifecycle(f->value);
    if (!config_.config_source) readBlocks(reader_, *fields);
  }

  // The config source's value: the blocks a bootstrap file leaves to it, and nothing else.
  void readSourceValue(YamlReader& reader, const Located& root) {
    std::optional<Fields> fields =
        reader.mapping(root, "config_source value", {"listeners", "clusters", "canaries"});
    if (fields) readBlocks(reader, *fields);
  }

  void readBlocks(YamlReader& reader, const Fields& fields) {
    if (const Field* f = fields.find("listeners")) {
      readListeners(reader, f->value, config_.service, config_.listeners, cluster_refs_);
    }
    if (const Field* f = fields.find("clusters")) {
      readClusters(reader, f->value, config_.clusters, service_refs_);
    }
    if (const Field* f = fields.find("canaries")) {
      readCanaries(reader, f->value, config_.canaries);
      for (const Canary& canary : config_.canaries) {
        if (!canary.cluster.empty()) cluster_refs_.push_back({canary.cluster, canary.location});
      }
    }
  }

  void readLifecycle(const Located& at) {
    std::optional<Fields> fields =
        reader_.mapping(at, "lifecycle", {"drain_delay", "drain_timeout"});
    if (!fields) return;
    readDuration(reader_, *fields, "drain_delay", config_.lifecycle.drain_delay);
    readDuration(reader_, *fields, "drain_timeout", config_.lifecycle.drain_timeout);
  }

  // Names can be used before they are defined, so references are checked once all are read.
  void checkReferences() {
    std::set<std::string> cluster_names;
    for (const Cluster& cluster : config_.clusters) cluster_names.insert(cluster.name);
    for (const Reference& ref : cluster_refs_) {
      if (!cluster_names.contains(ref.name)) {
        reader_.error(ref.where, "unknown cluster '" + ref.name + "'");
      }
    }
    checkCanaries(reader_, config_);
    checkConfigSource(reader_, config_);
    if (!config_.registry.configured()) {
      for (const Reference& ref : service_refs_) {
        reader_.error(ref.where,
                      "cluster uses service '" + ref.name + "' but no registry is configured");
      }
    }
  }

  YamlReader reader_;
  Config config_;
  References cluster_refs_;
  References service_refs_;
};

// `value`: the config source's value (named `value_name`), when there is one to read with the
// file.
Result<std::shared_ptr<const Config>> load(const std::string& yaml, const std::string& source,
                                           std::string source_path,
                                           const std::string* value = nullptr,
                                           const std::string& value_name = "") {
  std::vector<Error> errors;
  std::optional<YamlDocument> document = parseYaml(yaml, source, {.expand_env = true}, errors);
  if (!document) return errors;
  std::optional<YamlDocument> value_document;
  if (value != nullptr) {
    value_document = parseYaml(*value, value_name, {.expand_env = true}, errors);
    if (!value_document) return errors;
  }
  try {
    return ConfigReader(source, std::move(source_path), std::move(document->unexpanded))
        .read(document->root, std::move(errors), value_document ? &*value_document : nullptr,
              value_name);
  } catch (const YAML::Exception& e) {
    // The readers check types before every access; this is a last line of defence.
    return Error{{source, e.mark.line + 1, e.mark.column + 1}, e.msg};
  }
}

}  // namespace

Result<std::shared_ptr<const Config>> loadConfigFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error{{path, 0, 0}, std::string("cannot open: ") + std::strerror(errno)};
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Error{{path, 0, 0}, std::string("cannot read: ") + std::strerror(errno)};
  return load(text.str(), path, path);
}

Result<std::shared_ptr<const Config>> loadConfigString(const std::string& yaml,
                                                       const std::string& source_name) {
  return load(yaml, source_name, "");
}

Result<std::shared_ptr<const Config>> loadConfigWithSource(const std::string& bootstrap,
                                                           const std::string& path,
                                                           const std::string& value,
                                                           const std::string& value_name) {
  return load(bootstrap, path, path, &value, value_name);
}

}  // namespace remora::config

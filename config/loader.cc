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

  // `earlier_errors` (from ${VAR} expansion) are merged in.
  Result<std::shared_ptr<const Config>> read(const YAML::Node& document,
                                             std::vector<Error> earlier_errors) {
    if (std::optional<Located> root = reader_.root(document)) readTop(*root);
    checkReferences();
    std::vector<Error> errors = std::move(earlier_errors);
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
                        {"admin", "workers", "service", "registry", "lifecycle", "listeners",
                         "clusters", "canaries"});
    if (!fields) return;
    // Read in this order whatever the file's: listeners need the service (the inbound one is
    // trusted by default).
    if (const Field* f = fields->find("admin")) readAdmin(reader_, f->value, config_.admin);
    readInteger(reader_, *fields, "workers", 0, kMaxWorkers, config_.workers);
    if (const Field* f = fields->find("service")) config_.service = readService(reader_, f->value);
    if (const Field* f = fields->find("registry")) {
      config::readRegistry(reader_, f->value, config_.registry);
    }
    if (const Field* f = fields->find("lifecycle")) readLifecycle(f->value);
    if (const Field* f = fields->find("listeners")) {
      readListeners(reader_, f->value, config_.service, config_.listeners, cluster_refs_);
    }
    if (const Field* f = fields->find("clusters")) {
      readClusters(reader_, f->value, config_.clusters, service_refs_);
    }
    if (const Field* f = fields->find("canaries")) {
      readCanaries(reader_, f->value, config_.canaries);
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

Result<std::shared_ptr<const Config>> load(const std::string& yaml, const std::string& source,
                                           std::string source_path) {
  std::vector<Error> errors;
  std::optional<YamlDocument> document = parseYaml(yaml, source, {.expand_env = true}, errors);
  if (!document) return errors;
  try {
    return ConfigReader(source, std::move(source_path), std::move(document->unexpanded))
        .read(document->root, std::move(errors));
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

}  // namespace remora::config

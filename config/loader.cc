// Loading a remora YAML config into a typed, validated Config.
#include "config/loader.h"

#include <algorithm>
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

  // A config source's document, parsed, and its name.
  struct SourceDocument {
    YamlDocument document;
    std::string name;
  };

  // `earlier_errors` (from ${VAR} expansion) are merged in. `value` is the config source's
  // document, when the file's config_source has been read, and `instance` its instance key's.
  Result<std::shared_ptr<const Config>> read(const YAML::Node& document,
                                             std::vector<Error> earlier_errors,
                                             const SourceDocument* value = nullptr,
                                             const SourceDocument* instance = nullptr) {
    if (std::optional<Located> root = reader_.root(document)) readTop(*root);
    std::vector<Error> errors = std::move(earlier_errors);
    if (value != nullptr && config_.config_source) {
      readSourceValue(*value, config_, errors);
      if (instance != nullptr) {
        Config own;
        readSourceValue(*instance, own, errors);
        mergeInstance(std::move(own));
      }
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

  // A config source's value into `into`: the blocks a bootstrap file leaves to it, and nothing
  // else; its errors named by the source.
  void readSourceValue(const SourceDocument& source, Config& into, std::vector<Error>& errors) {
    YamlReader reader(source.name, source.document.unexpanded);
    if (std::optional<Located> root = reader.root(source.document.root)) {
      std::optional<Fields> fields =
          reader.mapping(*root, "config_source value", {"listeners", "clusters", "canaries"});
      if (fields) readBlocks(reader, *fields, into);
    }
    for (Error& error : reader.takeErrors()) errors.push_back(std::move(error));
  }

  void readBlocks(YamlReader& reader, const Fields& fields) { readBlocks(reader, fields, config_); }
  void readBlocks(YamlReader& reader, const Fields& fields, Config& into) {
    if (const Field* f = fields.find("listeners")) {
      readListeners(reader, f->value, config_.service, into.listeners, cluster_refs_);
    }
    if (const Field* f = fields.find("clusters")) {
      readClusters(reader, f->value, into.clusters, service_refs_);
    }
    if (const Field* f = fields.find("canaries")) {
      readCanaries(reader, f->value, into.canaries);
      for (const Canary& canary : into.canaries) {
        if (!canary.cluster.empty()) cluster_refs_.push_back({canary.cluster, canary.location});
      }
    }
  }

  // The instance key's blocks over the service key's: same name, replaced; new, added.
  void mergeInstance(Config own) {
    std::vector<std::string>& merge = config_.config_source->instance_merge;
    auto over = [&merge](auto& base, auto& mine, std::string_view block) {
      for (auto& item : mine) {
        auto it = std::find_if(base.begin(), base.end(),
                               [&](const auto& b) { return b.name == item.name; });
        merge.push_back(std::string(block) + "/" + item.name +
                        (it != base.end() ? ": replaced" : ": added"));
        if (it != base.end()) {
          *it = std::move(item);
        } else {
          base.push_back(std::move(item));
        }
      }
    };
    over(config_.listeners, own.listeners, "listeners");
    over(config_.clusters, own.clusters, "clusters");
    over(config_.canaries, own.canaries, "canaries");
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

// `value` and `instance`: the config source's values, when there are any to read with the file.
Result<std::shared_ptr<const Config>> load(const std::string& yaml, const std::string& source,
                                           std::string source_path,
                                           const SourceText* value = nullptr,
                                           const SourceText* instance = nullptr) {
  std::vector<Error> errors;
  std::optional<YamlDocument> document = parseYaml(yaml, source, {.expand_env = true}, errors);
  if (!document) return errors;
  bool parsed_all = true;
  auto parse = [&](const SourceText* text) -> std::optional<ConfigReader::SourceDocument> {
    if (text == nullptr) return std::nullopt;
    std::optional<YamlDocument> parsed =
        parseYaml(text->text, text->name, {.expand_env = true}, errors);
    if (!parsed) {
      parsed_all = false;
      return std::nullopt;
    }
    return ConfigReader::SourceDocument{std::move(*parsed), text->name};
  };
  std::optional<ConfigReader::SourceDocument> value_document = parse(value);
  std::optional<ConfigReader::SourceDocument> instance_document = parse(instance);
  if (!parsed_all) return errors;
  try {
    return ConfigReader(source, std::move(source_path), std::move(document->unexpanded))
        .read(document->root, std::move(errors), value_document ? &*value_document : nullptr,
              instance_document ? &*instance_document : nullptr);
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

Result<std::shared_ptr<const Config>> loadConfigWithSource(
    const std::string& bootstrap, const std::string& path, const SourceText& value,
    const std::optional<SourceText>& instance) {
  return load(bootstrap, path, path, &value, instance ? &*instance : nullptr);
}

}  // namespace remora::config

// `remora validate` and `remora config push`: a file, or a bootstrap file with its config
// source's value (a local file, or what the key holds), checked as remora would load them, and a
// value written to the key only once it is.
#include "proxy/config_commands.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "discovery/config_source/key_store.h"
#include "discovery/snapshot_builder.h"
#include "proxy/file_watcher.h"

namespace remora {
namespace {

void printErrors(const std::vector<Error>& errors) {
  for (const Error& error : errors) std::fprintf(stderr, "%s\n", error.text().c_str());
}

// Everything a load and a prepare find wrong with `config`; empty when it would run.
std::vector<Error> problems(const Result<std::shared_ptr<const config::Config>>& config) {
  if (!config) return config.errors();
  auto loaded = discovery::prepareConfig(*config);
  return loaded ? std::vector<Error>{} : loaded.errors();
}

// A bootstrap file, read and loaded alone.
struct Bootstrap {
  std::string path;
  std::string text;
  std::shared_ptr<const config::Config> config;
};

// The bootstrap at `path`, which must name a config source; nullopt (reported) otherwise.
std::optional<Bootstrap> readBootstrap(const std::string& path) {
  Bootstrap out{path, "", nullptr};
  std::string error;
  if (!readFile(path, out.text, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return std::nullopt;
  }
  auto config = config::loadConfigString(out.text, path);
  if (!config) {
    printErrors(config.errors());
    return std::nullopt;
  }
  if (!(*config)->config_source) {
    std::fprintf(stderr,
                 "%s: no config_source: a key's value is checked with the bootstrap that names "
                 "one\n",
                 path.c_str());
    return std::nullopt;
  }
  out.config = *config;
  return out;
}

int validateFile(const std::string& path) {
  const std::vector<Error> errors = problems(config::loadConfigFile(path));
  printErrors(errors);
  if (!errors.empty()) return 1;
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

// `bootstrap` with `value` as its source's value (named `name`).
int validateWithValue(const Bootstrap& bootstrap, const std::string& value,
                      const std::string& name) {
  const std::vector<Error> errors =
      problems(config::loadConfigWithSource(bootstrap.text, bootstrap.path, {value, name}));
  printErrors(errors);
  if (!errors.empty()) return 1;
  std::printf("%s with %s: ok\n", bootstrap.path.c_str(), name.c_str());
  return 0;
}

constexpr const char* kValidateUsage =
    "usage: remora validate FILE [--value VALUE_FILE | --from-consul KEY | --from-etcd KEY]\n";
constexpr const char* kConfigUsage = "usage: remora config push VALUE_FILE -c BOOTSTRAP_FILE\n";

}  // namespace

int validateCommand(int argc, char** argv) {
  if (argc == 3) return validateFile(argv[2]);
  if (argc != 5) {
    std::fprintf(stderr, "%s", kValidateUsage);
    return 2;
  }
  const std::string option = argv[3];
  const std::string operand = argv[4];
  if (option != "--value" && option != "--from-consul" && option != "--from-etcd") {
    std::fprintf(stderr, "%s", kValidateUsage);
    return 2;
  }
  std::optional<Bootstrap> bootstrap = readBootstrap(argv[2]);
  if (!bootstrap) return 2;
  if (option == "--value") {
    std::string value;
    std::string error;
    if (!readFile(operand, value, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 2;
    }
    return validateWithValue(*bootstrap, value, operand);
  }
  // What the key holds now, through the bootstrap's registry.
  config::ConfigSource source = *bootstrap->config->config_source;
  source.store = option == "--from-consul" ? config::ConfigSource::Store::Consul
                                           : config::ConfigSource::Store::Etcd;
  source.key = operand;
  std::string error;
  std::optional<std::string> value =
      discovery::config_source::readKey(bootstrap->config->registry, source, error);
  if (!value) {
    std::fprintf(stderr, "%s: %s\n", source.name().c_str(), error.c_str());
    return 2;
  }
  return validateWithValue(*bootstrap, *value, source.name());
}

int configCommand(int argc, char** argv) {
  if (argc != 6 || std::string(argv[2]) != "push" || std::string(argv[4]) != "-c") {
    std::fprintf(stderr, "%s", kConfigUsage);
    return 2;
  }
  const std::string value_path = argv[3];
  std::optional<Bootstrap> bootstrap = readBootstrap(argv[5]);
  if (!bootstrap) return 2;
  std::string value;
  std::string error;
  if (!readFile(value_path, value, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  // Nothing reaches the key that its remoras would reject.
  if (validateWithValue(*bootstrap, value, value_path) != 0) return 1;
  const config::ConfigSource& source = *bootstrap->config->config_source;
  if (!discovery::config_source::writeKey(bootstrap->config->registry, source, value, error)) {
    std::fprintf(stderr, "%s: %s\n", source.name().c_str(), error.c_str());
    return 1;
  }
  std::printf("%s: pushed to %s\n", value_path.c_str(), source.name().c_str());
  return 0;
}

}  // namespace remora

// Server's config source: the bootstrap file read with its key's value, the key watched, a new
// value applied like a reload of the file (validated in full, all or nothing), and the last good
// value cached on disk for a start while the registry is down.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "config/loader.h"
#include "proxy/file_watcher.h"
#include "proxy/log.h"
#include "proxy/server.h"

namespace remora {

Result<std::shared_ptr<const config::Config>> Server::loadConfig(
    const std::string& text, const std::optional<std::string>& value) const {
  auto bootstrap = config::loadConfigString(text, config_path_);
  if (!bootstrap || !(*bootstrap)->config_source || !value) return bootstrap;
  return config::loadConfigWithSource(text, config_path_, *value,
                                      (*bootstrap)->config_source->name());
}

std::optional<std::string> Server::cachedSourceValue(const config::Config& bootstrap) const {
  if (!bootstrap.config_source || bootstrap.config_source->cache.empty()) return std::nullopt;
  const std::string& path = bootstrap.config_source->cache;
  std::string value;
  std::string error;
  if (!readFile(path, value, error)) {
    LOG_INFO("config source: no cached value (%s): waiting for %s", error.c_str(),
             bootstrap.config_source->name().c_str());
    return std::nullopt;
  }
  LOG_INFO("config source: starting from the value cached at %s until %s answers", path.c_str(),
           bootstrap.config_source->name().c_str());
  return value;
}

void Server::watchConfigSource(const config::Config& config) {
  const std::string name = config.config_source ? config.config_source->name() : "";
  if (name == watched_source_) return;
  watched_source_ = name;
  source_watch_.reset();
  if (!config.config_source) return;
  source_watch_ = discovery::config_source::makeKeyWatch(
      config, *http_,
      [this](std::optional<std::string> value) { onSourceValue(std::move(value)); });
  if (!source_watch_) return;
  LOG_INFO("config source: watching %s", name.c_str());
  source_watch_->start();
}

void Server::onSourceValue(std::optional<std::string> value) {
  if (source_origin_ == "cache") {
    LOG_INFO("config source: %s answered", watched_source_.c_str());
  }
  source_origin_ = "key";
  if (!value) {
    // An absent key is no config: what is in force stays (a deleted key is an operator's
    // mistake far more often than a wish to stop routing).
    LOG_WARN("config source: %s does not exist; the configuration in force stays",
             watched_source_.c_str());
    return;
  }
  apply(config_text_, std::move(value), watched_source_ + " changed");
}

std::string Server::readyNote() const {
  if (source_origin_ != "cache" || !loaded_->config->config_source) return "";
  return "serving the config cached at " + loaded_->config->config_source->cache + ": " +
         watched_source_ + " not read yet";
}

nlohmann::json Server::configOriginJson() const {
  nlohmann::json out = {{"file", config_path_}};
  if (loaded_->config->config_source) {
    const config::ConfigSource& source = *loaded_->config->config_source;
    out["config_source"] = {{"key", source.name()},
                            {"value_from", source_origin_.empty() ? "none yet" : source_origin_},
                            {"cache", source.cache}};
  }
  if (last_rejection_) {
    out["last_rejected"] = {{"why", last_rejection_->why},
                            {"errors", last_rejection_->errors},
                            {"unix_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                            last_rejection_->at.time_since_epoch())
                                            .count()}};
  }
  return out;
}

void Server::writeSourceCache(const config::Config& config) const {
  if (!config.config_source || config.config_source->cache.empty() || !source_value_) return;
  const std::string& path = config.config_source->cache;
  // Written beside and renamed over: a start never reads half a value.
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << *source_value_;
    if (!out.flush()) {
      LOG_WARN("config source: cannot write the cache %s: %s", partial.c_str(),
               std::strerror(errno));
      return;
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    LOG_WARN("config source: cannot write the cache %s: %s", path.c_str(), std::strerror(errno));
  }
}

}  // namespace remora

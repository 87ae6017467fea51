// Server's config source: the bootstrap file read with its keys' values (the service's key, and
// this instance's merged over it), the keys watched, new values applied like a reload of the file
// (validated in full, all or nothing), and the last good values cached on disk for a start while
// the registry is down.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "config/loader.h"
#include "proxy/file_watcher.h"
#include "proxy/log.h"
#include "proxy/server.h"

namespace remora {
namespace {

// Where the instance key's value is cached: beside the service key's.
std::string instanceCachePath(const config::ConfigSource& source) {
  return source.cache + ".instance";
}

// Writes `text` beside `path` and renames it over: a start never reads half a value.
void writeAtomically(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
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

}  // namespace

Result<std::shared_ptr<const config::Config>> Server::loadConfig(const std::string& text,
                                                                 const SourceValues& values) const {
  auto bootstrap = config::loadConfigString(text, config_path_);
  if (!bootstrap || !(*bootstrap)->config_source || !values.service) return bootstrap;
  const config::ConfigSource& source = *(*bootstrap)->config_source;
  std::optional<config::SourceText> instance;
  if (values.instance && !source.instance_key.empty()) {
    instance = config::SourceText{*values.instance, source.instanceName()};
  }
  return config::loadConfigWithSource(text, config_path_, {*values.service, source.name()},
                                      instance);
}

Server::SourceValues Server::cachedSourceValues(const config::Config& bootstrap) const {
  SourceValues values;
  if (!bootstrap.config_source || bootstrap.config_source->cache.empty()) return values;
  const config::ConfigSource& source = *bootstrap.config_source;
  std::string text;
  std::string error;
  if (!readFile(source.cache, text, error)) {
    LOG_INFO("config source: no cached value (%s): waiting for %s", error.c_str(),
             source.name().c_str());
    return values;
  }
  LOG_INFO("config source: starting from the value cached at %s until %s answers",
           source.cache.c_str(), source.name().c_str());
  values.service = std::move(text);
  if (!source.instance_key.empty() && readFile(instanceCachePath(source), text, error)) {
    values.instance = std::move(text);
  }
  return values;
}

void Server::watchConfigSource(const config::Config& config) {
  const config::ConfigSource* source = config.config_source ? &*config.config_source : nullptr;
  const std::string name = source != nullptr ? source->name() + "|" + source->instance_key : "";
  if (name == watched_source_) return;
  watched_source_ = name;
  source_watch_.reset();
  instance_watch_.reset();
  pending_ = source_values_;
  instance_answered_ = false;
  if (source == nullptr) return;
  source_watch_ = discovery::config_source::makeKeyWatch(
      config, source->key, *http_,
      [this](std::optional<std::string> value) { onSourceValue(std::move(value)); });
  if (!source->instance_key.empty()) {
    instance_watch_ = discovery::config_source::makeKeyWatch(
        config, source->instance_key, *http_,
        [this](std::optional<std::string> value) { onInstanceValue(std::move(value)); });
  }
  if (!source_watch_) return;
  LOG_INFO("config source: watching %s%s", source->name().c_str(),
           source->instance_key.empty() ? "" : (" and " + source->instanceName()).c_str());
  source_watch_->start();
  if (instance_watch_) instance_watch_->start();
}

void Server::onSourceValue(std::optional<std::string> value) {
  if (source_origin_ == "cache") LOG_INFO("config source: the key answered");
  source_origin_ = "key";
  if (!value) {
    // An absent key is no config: what is in force stays (a deleted key is an operator's
    // mistake far more often than a wish to stop routing).
    LOG_WARN("config source: %s does not exist; the configuration in force stays",
             loaded_->config->config_source->name().c_str());
    return;
  }
  pending_.service = std::move(value);
  applyPending(loaded_->config->config_source->name() + " changed");
}

void Server::onInstanceValue(std::optional<std::string> value) {
  // No instance key is the usual case: the service's key alone.
  instance_answered_ = true;
  pending_.instance = std::move(value);
  applyPending(loaded_->config->config_source->instanceName() + " changed");
}

void Server::applyPending(const std::string& why) {
  // Both keys first, so that an instance with an override never serves without it.
  if (!pending_.service || (instance_watch_ && !instance_answered_)) return;
  apply(config_text_, pending_, why);
}

std::string Server::readyNote() const {
  if (source_origin_ != "cache" || !loaded_->config->config_source) return "";
  return "serving the config cached at " + loaded_->config->config_source->cache + ": " +
         loaded_->config->config_source->name() + " not read yet";
}

nlohmann::json Server::configOriginJson() const {
  nlohmann::json out = {{"file", config_path_}};
  if (loaded_->config->config_source) {
    const config::ConfigSource& source = *loaded_->config->config_source;
    out["config_source"] = {{"key", source.name()},
                            {"value_from", source_origin_.empty() ? "none yet" : source_origin_},
                            {"cache", source.cache}};
    if (!source.instance_key.empty()) {
      out["config_source"]["instance_key"] = source.instanceName();
      out["config_source"]["instance_merge"] = source.instance_merge;
    }
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
  if (!config.config_source || config.config_source->cache.empty() || !source_values_.service) {
    return;
  }
  const config::ConfigSource& source = *config.config_source;
  writeAtomically(source.cache, *source_values_.service);
  if (source.instance_key.empty()) return;
  if (source_values_.instance) {
    writeAtomically(instanceCachePath(source), *source_values_.instance);
  } else {
    std::remove(instanceCachePath(source).c_str());
  }
}

}  // namespace remora

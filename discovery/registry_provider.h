// RegistryProvider: one registry, watched from the main thread, reporting complete views.
#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <string>

#include "discovery/registry_view.h"

namespace remora::discovery {

// How a provider (or a registrar) is doing, for /clusters, metrics and logs.
struct RegistryStatus {
  bool healthy = false;    // the last exchange with the registry succeeded
  std::string last_error;  // "" while healthy
  uint64_t errors = 0;     // failed exchanges so far
  std::chrono::system_clock::time_point last_success{};
};

struct ProviderCallbacks {
  // A complete view, replacing the last. A provider never passes on a view made smaller by a
  // registry failure: a service it cannot currently read keeps its last good endpoints.
  std::function<void(RegistryView view)> on_view;
  // A failed exchange (the last view stays in force); the provider retries with jittered backoff.
  std::function<void(const std::string& error)> on_error;
};

class RegistryProvider {
 public:
  virtual ~RegistryProvider() = default;
  // Starts watching these services, or changes the set (after a reload). The first view comes
  // once every service has been read once, or failed to be.
  virtual void watch(const std::set<std::string>& services) = 0;
  virtual const RegistryStatus& status() const = 0;
};

}  // namespace remora::discovery

// Registrar: keeps the local service registered in the registry while remora runs.
#pragma once

#include <functional>

#include "discovery/registry_provider.h"

namespace remora::discovery {

// The local app's health as remora's checks see it; published as the instance's health.
enum class AppHealth { Passing, Warning, Critical };
const char* appHealthName(AppHealth health);

class Registrar {
 public:
  virtual ~Registrar() = default;
  // Registers the service and keeps it registered (re-registering after the registry lost it,
  // retrying with jittered backoff); `on_registered` runs after every successful registration.
  virtual void start(AppHealth health, std::function<void()> on_registered) = 0;
  // Publishes a change of the app's health.
  virtual void setHealth(AppHealth health) = 0;
  // Takes the instance out (deregister, or maintenance); `done` runs once that is over or has
  // failed, within a bounded time. Nothing is re-registered afterwards.
  virtual void deregister(std::function<void()> done) = 0;
  virtual const RegistryStatus& status() const = 0;
};

}  // namespace remora::discovery

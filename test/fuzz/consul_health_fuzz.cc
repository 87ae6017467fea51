// libFuzzer target for the Consul health-reply parser: it may not crash or throw, and what it
// accepts must hold together (an endpoint out of rotation says why; reasons and metadata stay
// valid UTF-8, since /clusters serialises them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "discovery/consul/consul_json.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// The strict serialiser throws on invalid UTF-8; an uncaught exception ends the run as a crash.
void checkUtf8(const std::string& text) { static_cast<void>(nlohmann::json(text).dump()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto endpoints = remora::discovery::consul::parseHealthReply(body, error);
  check(endpoints.has_value() == error.empty());
  if (!endpoints) return 0;
  for (const auto& endpoint : *endpoints) {
    check(endpoint.healthy == endpoint.health_reason.empty());
    check(!endpoint.healthy || endpoint.endpoint.weight > 0);
    check(endpoint.endpoint.weight <= 1'000'000);
    checkUtf8(endpoint.health_reason);
    checkUtf8(endpoint.endpoint.address.host);
    for (const auto& [key, value] : endpoint.endpoint.meta) {
      checkUtf8(key);
      checkUtf8(value);
    }
  }
  return 0;
}

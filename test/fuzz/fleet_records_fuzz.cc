// Fuzzes the records remoras share through the registry for a canary: per-remora counts, the
// run's state and steering requests, as another remora (or anyone with write access) left them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "discovery/canary/fleet_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  remora::canary::decodeCounts(input, error);
  remora::canary::decodeState(input, error);
  remora::canary::decodeRequest(input, error);
  return 0;
}

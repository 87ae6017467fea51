// libFuzzer target for the config loader and the endpoints-file parser: neither may crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/dump.h"
#include "config/loader.h"
#include "discovery/file/endpoints_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = remora::config::loadConfigString(text, "fuzz.yaml");
  // Dumping walks filter configs the loader only shape-checked, so it is fuzzed along.
  if (config.ok()) remora::config::toJson(**config).dump();
  for (const remora::Error& error : config.errors()) error.text();
  auto endpoints = remora::discovery::parseEndpointsFile(text, "fuzz.yaml");
  for (const remora::Error& error : endpoints.errors()) error.text();
  return 0;
}

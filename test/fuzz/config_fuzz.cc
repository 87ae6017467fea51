// libFuzzer target for the config loader (a file alone, and a bootstrap file with a config
// source's value) and the endpoints-file parser: none may crash or throw.
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
  // The input as the value of a config source a fixed bootstrap names: the key's document is read
  // by the same readers, under another name.
  static const std::string kBootstrap =
      "registry: {consul: {}}\nconfig_source: {consul: {key: remora/fuzz}}\n";
  auto with_source = remora::config::loadConfigWithSource(kBootstrap, "boot.yaml",
                                                          {text, "consul key remora/fuzz"});
  if (with_source.ok()) remora::config::toJson(**with_source).dump();
  for (const remora::Error& error : with_source.errors()) error.text();
  // ... and as an instance key's value, merged by name over a fixed one.
  static const std::string kWithInstance =
      "registry: {consul: {}}\nconfig_source: {consul: {key: k, instance_key: k/i}}\n";
  static const std::string kValue =
      "clusters: [{name: users, endpoints: [127.0.0.1:1]}]\n"
      "listeners: [{name: edge, address: 127.0.0.1:0, routes: [{cluster: users}]}]\n";
  auto merged =
      remora::config::loadConfigWithSource(kWithInstance, "boot.yaml", {kValue, "consul key k"},
                                           remora::config::SourceText{text, "consul key k/i"});
  for (const remora::Error& error : merged.errors()) error.text();
  auto endpoints = remora::discovery::parseEndpointsFile(text, "fuzz.yaml");
  for (const remora::Error& error : endpoints.errors()) error.text();
  return 0;
}

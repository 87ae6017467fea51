// Fuzzes the etcd gateway parsers: range, transaction and lease replies, watch lines, instance
// values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "discovery/etcd/etcd_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  remora::discovery::etcd::parseRangeReply(input, error);
  remora::discovery::etcd::parseTxnReply(input, error);
  remora::discovery::etcd::parseWatchMessage(input, error);
  remora::discovery::etcd::parseLeaseReply(input, error);
  remora::discovery::etcd::parseInstance(input, error);
  if (auto decoded = remora::discovery::etcd::base64Decode(input)) {
    if (remora::discovery::etcd::base64Encode(*decoded) != input) __builtin_trap();
  }
  return 0;
}

// The etcd v3 JSON gateway's messages: what remora sends and parses, with base64 keys and values
// and int64s as strings. Parsing never throws and rejects anything malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "discovery/base64.h"
#include "discovery/registry_view.h"

namespace remora::discovery::etcd {

using discovery::base64Decode;
using discovery::base64Encode;

// The end of the range that holds every key starting with `prefix` ("foo" -> "fop").
std::string prefixRangeEnd(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  int64_t lease = 0;  // the lease the key is attached to; 0: none
};

struct RangeReply {
  int64_t revision = 0;
  std::vector<KeyValue> kvs;
};

struct WatchEvent {
  bool deleted = false;
  KeyValue kv;
};

// One line of a watch stream.
struct WatchMessage {
  int64_t revision = 0;  // header.revision
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // set when the watch was cancelled by compaction
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  std::string error;  // an {"error": ...} line
};

std::optional<RangeReply> parseRangeReply(std::string_view body, std::string& error);

// /v3/kv/txn's reply: whether the compares held, and the ranges among the operations run (in
// their order; puts and deletes are left out).
struct TxnReply {
  bool succeeded = false;
  std::vector<RangeReply> ranges;
};
std::optional<TxnReply> parseTxnReply(std::string_view body, std::string& error);
std::optional<WatchMessage> parseWatchMessage(std::string_view line, std::string& error);

// {"ID":"..","TTL":".."} of a lease grant or keep-alive; ttl 0 or absent: the lease is gone.
struct LeaseReply {
  std::string id;
  int64_t ttl = 0;
};
std::optional<LeaseReply> parseLeaseReply(std::string_view body, std::string& error);

// A key `<prefix><service>/<id>`'s value, {"Addr":"host:port","Metadata":{...}}: the endpoint,
// its weight from Metadata.weight (default 1; 0 drains it) and its other metadata.
std::optional<RegistryEndpoint> parseInstance(std::string_view value, std::string& error);
std::string encodeInstance(const std::string& address, uint16_t port,
                           const config::Metadata& metadata);

}  // namespace remora::discovery::etcd

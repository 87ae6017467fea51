// etcd gateway JSON: base64, ranges, watch lines, leases and the gRPC naming instance value.
#include "discovery/etcd/etcd_json.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "config/address.h"

namespace remora::discovery::etcd {
namespace {

using json = nlohmann::json;

std::optional<json> parse(std::string_view text, std::string& error) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  return value;
}

// int64 fields arrive as strings ("42"), but accept numbers too; absent means 0.
bool readInt64(const json& object, const char* key, int64_t& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    out = 0;
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& text = it->get_ref<const std::string&>();
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool readBase64(const json& object, const char* key, std::string& out, std::string& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    out.clear();
    return true;
  }
  if (!it->is_string()) {
    error = std::string("'") + key + "' is not a string";
    return false;
  }
  auto decoded = base64Decode(it->get_ref<const std::string&>());
  if (!decoded) {
    error = std::string("'") + key + "' is not base64";
    return false;
  }
  out = std::move(*decoded);
  return true;
}

bool readKeyValue(const json& object, KeyValue& out, std::string& error) {
  if (!object.is_object()) {
    error = "a kv is not an object";
    return false;
  }
  if (!readBase64(object, "key", out.key, error) || !readBase64(object, "value", out.value, error))
    return false;
  if (!readInt64(object, "mod_revision", out.mod_revision) ||
      !readInt64(object, "lease", out.lease)) {
    error = "bad mod_revision or lease";
    return false;
  }
  return true;
}

bool readHeaderRevision(const json& object, int64_t& out, std::string& error) {
  auto header = object.find("header");
  if (header == object.end()) {
    out = 0;
    return true;
  }
  if (!header->is_object() || !readInt64(*header, "revision", out)) {
    error = "bad header";
    return false;
  }
  return true;
}

}  // namespace

std::string prefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<uint8_t>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "range to the end"
}

namespace {
std::optional<RangeReply> rangeReply(const json* object, std::string& error) {
  RangeReply reply;
  if (!readHeaderRevision(*object, reply.revision, error)) return std::nullopt;
  if (reply.revision <= 0) {
    error = "range reply without a revision";
    return std::nullopt;
  }
  auto kvs = object->find("kvs");
  if (kvs != object->end() && !kvs->is_null()) {
    if (!kvs->is_array()) {
      error = "'kvs' is not a list";
      return std::nullopt;
    }
    for (const json& item : *kvs) {
      KeyValue kv;
      if (!readKeyValue(item, kv, error)) return std::nullopt;
      reply.kvs.push_back(std::move(kv));
    }
  }
  return reply;
}
}  // namespace

std::optional<RangeReply> parseRangeReply(std::string_view body, std::string& error) {
  auto object = parse(body, error);
  if (!object) return std::nullopt;
  return rangeReply(&*object, error);
}

std::optional<TxnReply> parseTxnReply(std::string_view body, std::string& error) {
  auto object = parse(body, error);
  if (!object) return std::nullopt;
  TxnReply reply;
  // The gateway leaves `succeeded` out when it is false.
  if (auto succeeded = object->find("succeeded"); succeeded != object->end()) {
    reply.succeeded = succeeded->is_boolean() && succeeded->get<bool>();
  }
  auto responses = object->find("responses");
  if (responses == object->end() || responses->is_null()) return reply;
  if (!responses->is_array()) {
    error = "'responses' is not a list";
    return std::nullopt;
  }
  for (const json& item : *responses) {
    if (!item.is_object()) {
      error = "a response is not an object";
      return std::nullopt;
    }
    auto range = item.find("response_range");
    if (range == item.end()) continue;
    if (!range->is_object()) {
      error = "'response_range' is not an object";
      return std::nullopt;
    }
    auto parsed = rangeReply(&*range, error);
    if (!parsed) return std::nullopt;
    reply.ranges.push_back(std::move(*parsed));
  }
  return reply;
}

std::optional<WatchMessage> parseWatchMessage(std::string_view line, std::string& error) {
  auto object = parse(line, error);
  if (!object) return std::nullopt;
  WatchMessage message;
  if (auto e = object->find("error"); e != object->end()) {
    message.error = e->is_object() && e->contains("message") && (*e)["message"].is_string()
                        ? (*e)["message"].get<std::string>()
                        : e->dump();
    return message;
  }
  auto result = object->find("result");
  if (result == object->end() || !result->is_object()) {
    error = "watch line without 'result'";
    return std::nullopt;
  }
  if (!readHeaderRevision(*result, message.revision, error)) return std::nullopt;
  auto flag = [&](const char* key) {
    auto it = result->find(key);
    return it != result->end() && it->is_boolean() && it->get<bool>();
  };
  message.created = flag("created");
  message.canceled = flag("canceled");
  if (!readInt64(*result, "compact_revision", message.compact_revision)) {
    error = "bad compact_revision";
    return std::nullopt;
  }
  if (auto reason = result->find("cancel_reason"); reason != result->end() && reason->is_string()) {
    message.cancel_reason = reason->get<std::string>();
  }
  auto events = result->find("events");
  if (events != result->end() && !events->is_null()) {
    if (!events->is_array()) {
      error = "'events' is not a list";
      return std::nullopt;
    }
    for (const json& item : *events) {
      if (!item.is_object()) {
        error = "an event is not an object";
        return std::nullopt;
      }
      WatchEvent event;
      auto type = item.find("type");
      // A PUT has no `type`: the gateway leaves out fields at their default value.
      event.deleted =
          type != item.end() && type->is_string() && type->get<std::string>() == "DELETE";
      auto kv = item.find("kv");
      if (kv == item.end() || !readKeyValue(*kv, event.kv, error)) {
        if (error.empty()) error = "an event without 'kv'";
        return std::nullopt;
      }
      message.events.push_back(std::move(event));
    }
  }
  return message;
}

std::optional<LeaseReply> parseLeaseReply(std::string_view body, std::string& error) {
  auto object = parse(body, error);
  if (!object) return std::nullopt;
  // A keep-alive reply wraps its fields in "result".
  const json& fields =
      object->contains("result") && (*object)["result"].is_object() ? (*object)["result"] : *object;
  if (auto e = object->find("error"); e != object->end()) {
    error = e->dump();
    return std::nullopt;
  }
  LeaseReply reply;
  auto id = fields.find("ID");
  if (id != fields.end() && id->is_string()) reply.id = id->get<std::string>();
  if (id != fields.end() && id->is_number_integer()) reply.id = std::to_string(id->get<int64_t>());
  if (!readInt64(fields, "TTL", reply.ttl)) {
    error = "bad TTL";
    return std::nullopt;
  }
  return reply;
}

std::optional<RegistryEndpoint> parseInstance(std::string_view value, std::string& error) {
  auto object = parse(value, error);
  if (!object) return std::nullopt;
  auto addr = object->find("Addr");
  if (addr == object->end() || !addr->is_string()) {
    error = "no \"Addr\"";
    return std::nullopt;
  }
  auto address = config::parseAddress(addr->get<std::string>());
  if (!address) {
    error = "bad \"Addr\" '" + addr->get<std::string>() + "'";
    return std::nullopt;
  }
  RegistryEndpoint endpoint;
  endpoint.endpoint.address = *address;
  auto metadata = object->find("Metadata");
  if (metadata != object->end() && metadata->is_object()) {
    for (const auto& [key, item] : metadata->items()) {
      if (item.is_string()) {
        endpoint.endpoint.meta[key] = item.get<std::string>();
      } else if (item.is_number() || item.is_boolean()) {
        endpoint.endpoint.meta[key] = item.dump();
      }
    }
  }
  if (auto weight = endpoint.endpoint.meta.find("weight"); weight != endpoint.endpoint.meta.end()) {
    uint32_t parsed = 0;
    const std::string& text = weight->second;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || ptr != text.data() + text.size() || parsed > 1'000'000) {
      error = "bad weight '" + text + "'";
      return std::nullopt;
    }
    if (parsed == 0) {
      endpoint.healthy = false;
      endpoint.health_reason = "drained (weight 0)";
    } else {
      endpoint.endpoint.weight = parsed;
    }
  }
  return endpoint;
}

std::string encodeInstance(const std::string& address, uint16_t port,
                           const config::Metadata& metadata) {
  config::Address addr{address, port};
  json value = {{"Addr", addr.text()}, {"Metadata", json::object()}};
  for (const auto& [key, item] : metadata) value["Metadata"][key] = item;
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace remora::discovery::etcd

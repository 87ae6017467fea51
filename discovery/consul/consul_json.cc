// Consul JSON: health replies into endpoints, the registration and check-update bodies, and the
// small request helpers.
#include "discovery/consul/consul_json.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace remora::discovery::consul {
namespace {

using json = nlohmann::json;

// Consul takes any positive int; the snapshot sums weights in 32 bits, so absurd ones are capped
// rather than letting one instance's typo hide the whole service.
constexpr uint64_t kMaxWeight = 1'000'000;
// A check's output can be a whole HTTP body; the reason only needs its start.
constexpr size_t kMaxReasonOutput = 200;

// Worst last: an entry's state is the worst over its node's and its own checks.
enum class State { Passing, Warning, Critical, Maintenance };

const char* stateName(State state) {
  switch (state) {
    case State::Passing:
      return "passing";
    case State::Warning:
      return "warning";
    case State::Critical:
      return "critical";
    case State::Maintenance:
      return "maintenance";
  }
  return "critical";
}

// Each reader leaves `out` at its default when the field is absent or null, and names the field
// in `error` when it has the wrong type.
bool readString(const json& object, const char* key, const std::string& where, std::string& out,
                std::string& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) {
    error = where + "." + key + " is not a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool readUint(const json& object, const char* key, const std::string& where, uint64_t& out,
              std::string& error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_number_unsigned()) {
    error = where + "." + key + (it->is_number_integer() ? " is negative" : " is not an integer");
    return false;
  }
  out = it->get<uint64_t>();
  return true;
}

// `where.key` must be an object when present; null when absent or null.
bool findObject(const json& object, const char* key, const std::string& where, const json*& out,
                std::string& error) {
  out = nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_object()) {
    error = where + "." + key + " is not an object";
    return false;
  }
  out = &*it;
  return true;
}

// Cuts at a UTF-8 character boundary: the reason ends up in JSON (/clusters).
std::string shortened(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.size() <= kMaxReasonOutput) return text;
  size_t cut = kMaxReasonOutput;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

bool isMaintenance(const std::string& check_id, const std::string& status) {
  return check_id.starts_with("_service_maintenance:") || check_id == "_node_maintenance" ||
         status == "maintenance";
}

struct Health {
  State state = State::Passing;
  std::string reason;  // for critical: the first critical check and its output
};

bool readChecks(const json& entry, const std::string& where, Health& health, std::string& error) {
  auto checks = entry.find("Checks");
  if (checks == entry.end() || checks->is_null()) return true;
  if (!checks->is_array()) {
    error = where + ".Checks is not an array";
    return false;
  }
  for (size_t i = 0; i < checks->size(); ++i) {
    const json& check = (*checks)[i];
    const std::string at = where + ".Checks[" + std::to_string(i) + "]";
    if (!check.is_object()) {
      error = at + " is not an object";
      return false;
    }
    std::string id, status, output;
    if (!readString(check, "CheckID", at, id, error) ||
        !readString(check, "Status", at, status, error) ||
        !readString(check, "Output", at, output, error)) {
      return false;
    }
    State state = State::Critical;  // an unknown status fails closed
    if (isMaintenance(id, status)) {
      state = State::Maintenance;
    } else if (status == "passing") {
      state = State::Passing;
    } else if (status == "warning") {
      state = State::Warning;
    }
    if (state == State::Critical && health.state < State::Critical) {
      output = shortened(std::move(output));
      health.reason = "consul: critical (" + id + (output.empty() ? "" : ": " + output) + ")";
    }
    health.state = std::max(health.state, state);
  }
  if (health.state == State::Maintenance) health.reason = "consul: maintenance";
  return true;
}

bool readEntry(const json& entry, const std::string& where, RegistryEndpoint& out,
               std::string& error) {
  if (!entry.is_object()) {
    error = where + " is not an object";
    return false;
  }
  const json* node = nullptr;
  const json* service = nullptr;
  if (!findObject(entry, "Node", where, node, error) ||
      !findObject(entry, "Service", where, service, error)) {
    return false;
  }
  if (node == nullptr || service == nullptr) {
    error = where + (node == nullptr ? " has no Node" : " has no Service");
    return false;
  }
  const std::string node_at = where + ".Node";
  const std::string service_at = where + ".Service";
  std::string node_name, node_address, address;
  uint64_t port = 0;
  if (!readString(*node, "Node", node_at, node_name, error) ||
      !readString(*node, "Address", node_at, node_address, error) ||
      !readString(*service, "Address", service_at, address, error) ||
      !readUint(*service, "Port", service_at, port, error)) {
    return false;
  }
  if (port > 65535) {
    error = service_at + ".Port is out of range";
    return false;
  }
  // Without an address of its own an instance is reached at its node's.
  out.endpoint.address = {address.empty() ? node_address : address, static_cast<uint16_t>(port)};

  const json* meta = nullptr;
  if (!findObject(*service, "Meta", service_at, meta, error)) return false;
  if (meta != nullptr) {
    for (const auto& [key, value] : meta->items()) {
      if (!value.is_string()) {
        error = service_at + ".Meta." + key + " is not a string";
        return false;
      }
      out.endpoint.meta[key] = value.get<std::string>();
    }
  }
  auto tags = service->find("Tags");
  if (tags != service->end() && !tags->is_null()) {
    if (!tags->is_array()) {
      error = service_at + ".Tags is not an array";
      return false;
    }
    std::string joined;
    for (const json& tag : *tags) {
      if (!tag.is_string()) {
        error = service_at + ".Tags has an element that is not a string";
        return false;
      }
      joined += (joined.empty() ? "" : ",") + tag.get<std::string>();
    }
    // The service's own Meta wins over these derived keys.
    if (!joined.empty()) out.endpoint.meta.emplace("tags", joined);
  }
  out.endpoint.meta.emplace("node", node_name);

  uint64_t passing = 1, warning = 1;
  const json* weights = nullptr;
  if (!findObject(*service, "Weights", service_at, weights, error)) return false;
  if (weights != nullptr &&
      (!readUint(*weights, "Passing", service_at + ".Weights", passing, error) ||
       !readUint(*weights, "Warning", service_at + ".Weights", warning, error))) {
    return false;
  }

  Health health;
  if (!readChecks(entry, where, health, error)) return false;
  // As Consul's DNS balances: critical and maintenance out, the others weighted by state.
  const uint64_t weight = std::min(health.state == State::Warning ? warning : passing, kMaxWeight);
  out.endpoint.weight = static_cast<uint32_t>(weight);
  if (health.state >= State::Critical) {
    out.healthy = false;
    out.health_reason = std::move(health.reason);
  } else if (weight == 0) {
    out.healthy = false;
    out.health_reason = std::string("consul: ") + stateName(health.state) + " (weight 0)";
  } else if (out.endpoint.address.host.empty() || port == 0) {
    out.healthy = false;
    out.health_reason = "consul: no address or port";
  }
  return true;
}

std::string dump(const json& value) {
  // Config strings are not checked for UTF-8; a bad byte must not throw.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<std::vector<RegistryEndpoint>> parseHealthReply(std::string_view body,
                                                              std::string& error) {
  const json reply = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded()) {
    error = "the reply is not valid JSON";
    return std::nullopt;
  }
  if (!reply.is_array()) {
    error = "the reply is not a JSON array";
    return std::nullopt;
  }
  std::vector<RegistryEndpoint> endpoints(reply.size());
  for (size_t i = 0; i < reply.size(); ++i) {
    if (!readEntry(reply[i], "[" + std::to_string(i) + "]", endpoints[i], error)) {
      return std::nullopt;
    }
  }
  return endpoints;
}

std::string serviceId(const config::Service& service) {
  return service.id.empty() ? service.name : service.id;
}

std::string checkId(const config::Service& service) { return "service:" + serviceId(service); }

std::string encodeRegistration(const config::Service& service, const config::ConsulRegistry& config,
                               std::chrono::milliseconds ttl, AppHealth health) {
  json meta = json::object();
  for (const auto& [key, value] : service.meta) meta[key] = value;
  json check = {
      {"CheckID", checkId(service)},
      {"Name", "remora: " + service.name},
      {"Status", appHealthName(health)},
      {"DeregisterCriticalServiceAfter", durationText(config.deregister_critical_after)},
  };
  if (config.check == config::ConsulRegistry::Check::Ttl) {
    check["TTL"] = durationText(ttl);
  } else {
    const config::Address inbound{service.address.empty() ? "127.0.0.1" : service.address,
                                  service.port};
    check["HTTP"] = "http://" + inbound.text() + service.health.path;
    check["Method"] = "GET";
    check["Interval"] = durationText(service.health.interval);
    check["Timeout"] = durationText(service.health.timeout);
  }
  const json body = {
      {"ID", serviceId(service)},
      {"Name", service.name},
      {"Tags", service.tags},
      {"Address", service.address},
      {"Port", service.port},
      {"Meta", meta},
      {"Weights", {{"Passing", service.weight_passing}, {"Warning", service.weight_warning}}},
      {"Check", check},
  };
  return dump(body);
}

std::string encodeCheckUpdate(AppHealth health) {
  const std::string name = appHealthName(health);
  return dump({{"Status", name}, {"Output", "remora: the local app is " + name}});
}

std::string durationText(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

std::optional<uint64_t> parseIndex(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string kvPath(std::string_view key) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    out += urlEscape(key.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

std::string urlEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

std::string describeFailure(const HttpResponse& response) {
  if (response.status == 0) return response.error;
  constexpr size_t kMaxBody = 200;
  std::string text = "HTTP " + std::to_string(response.status);
  std::string_view body(response.body);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (body.empty()) return text;
  text += ": ";
  for (const char c : body.substr(0, kMaxBody)) text += c >= 0x20 && c < 0x7f ? c : '?';
  return text;
}

std::string resolveToken(const config::ConsulRegistry& config) {
  if (!config.token.empty()) return config.token;
  const char* token = std::getenv("CONSUL_HTTP_TOKEN");
  return token != nullptr ? token : "";
}

}  // namespace remora::discovery::consul

// Fleet records as JSON: counts with sparse latency histograms, the leader's state, steering
// requests; the release fingerprint; and the ledger that turns cumulative counts into news.
#include "discovery/canary/fleet_records.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace remora::canary {
namespace {

using json = nlohmann::json;

int64_t unixMillis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point fromUnixMillis(int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

json armJson(const ArmTotals& arm) {
  json latency = json::array();
  const auto& counts = arm.latency.counts();
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] != 0) latency.push_back({i, counts[i]});
  }
  return {{"requests", arm.requests}, {"errors", arm.errors}, {"latency", std::move(latency)}};
}

bool readU64(const json& object, const char* key, uint64_t& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) return false;
  out = it->get<uint64_t>();
  return true;
}

bool readI64(const json& object, const char* key, int64_t& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

bool readDouble(const json& object, const char* key, double& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return false;
  out = it->get<double>();
  return true;
}

bool readString(const json& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool readArm(const json& object, const char* key, ArmTotals& out, std::string& error) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_object() || !readU64(*it, "requests", out.requests) ||
      !readU64(*it, "errors", out.errors) || !it->contains("latency") ||
      !(*it)["latency"].is_array()) {
    error = std::string("'") + key + "' is not an arm's counts";
    return false;
  }
  for (const json& bucket : (*it)["latency"]) {
    if (!bucket.is_array() || bucket.size() != 2 || !bucket[0].is_number_unsigned() ||
        !bucket[1].is_number_unsigned() ||
        !out.latency.addToBucket(static_cast<int>(std::min<uint64_t>(bucket[0].get<uint64_t>(),
                                                                     LatencyHistogram::kBuckets)),
                                 bucket[1].get<uint64_t>())) {
      error = std::string("'") + key + "' has a bad latency bucket";
      return false;
    }
  }
  return true;
}

std::optional<json> parseObject(std::string_view text, std::string& error) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  return value;
}

std::optional<State> stateFromName(const std::string& name) {
  for (State state : {State::Progressing, State::WaitingForTraffic, State::Paused, State::Promoted,
                      State::Aborted}) {
    if (name == stateName(state)) return state;
  }
  return std::nullopt;
}

// Whether `later` holds at least everything `earlier` does, bucket by bucket.
bool covers(const ArmTotals& later, const ArmTotals& earlier) {
  if (later.requests < earlier.requests || later.errors < earlier.errors) return false;
  const auto& a = later.latency.counts();
  const auto& b = earlier.latency.counts();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] < b[i]) return false;
  }
  return true;
}

ArmTotals difference(const ArmTotals& later, const ArmTotals& earlier) {
  ArmTotals out;
  out.requests = later.requests - earlier.requests;
  out.errors = later.errors - earlier.errors;
  const auto& a = later.latency.counts();
  const auto& b = earlier.latency.counts();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) out.latency.addToBucket(static_cast<int>(i), a[i] - b[i]);
  }
  return out;
}

}  // namespace

std::string fingerprint(const config::Canary& c) {
  const auto& a = c.analysis;
  auto millis = [](config::Duration d) { return static_cast<int64_t>(d.count()); };
  json settings = {{"name", c.name},
                   {"route", c.route},
                   {"cluster", c.cluster},
                   {"baseline", c.baseline},
                   {"canary", c.canary},
                   {"steps", c.steps},
                   {"step_interval_ms", millis(c.step_interval)},
                   {"min_requests", c.min_requests},
                   {"sticky_by", static_cast<int>(c.sticky_by)},
                   {"sticky_name", c.sticky_name},
                   {"max_error_rate_increase", a.max_error_rate_increase},
                   {"max_p99_ratio", a.max_p99_ratio},
                   {"min_p99_increase_ms", millis(a.min_p99_increase)},
                   {"confidence", a.confidence},
                   {"max_error_rate", a.max_error_rate ? json(*a.max_error_rate) : json(nullptr)},
                   {"max_p99_ms", a.max_p99 ? json(millis(*a.max_p99)) : json(nullptr)},
                   {"deadline_ms", c.deadline ? json(millis(*c.deadline)) : json(nullptr)},
                   {"on_deadline", static_cast<int>(c.on_deadline)}};
  // Written only when set, so that the runs of canaries without one keep their fingerprints.
  if (c.shadow) settings["shadow_percent"] = c.shadow->percent;
  // FNV-1a: stable across builds and machines, which std::hash is not.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : settings.dump()) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string encodeCounts(const FleetCounts& counts) {
  return json{{"epoch", counts.epoch},
              {"baseline", armJson(counts.baseline)},
              {"canary", armJson(counts.canary)}}
      .dump();
}

std::optional<FleetCounts> decodeCounts(std::string_view text, std::string& error) {
  auto object = parseObject(text, error);
  if (!object) return std::nullopt;
  FleetCounts counts;
  if (!readU64(*object, "epoch", counts.epoch)) {
    error = "no epoch";
    return std::nullopt;
  }
  if (!readArm(*object, "baseline", counts.baseline, error) ||
      !readArm(*object, "canary", counts.canary, error)) {
    return std::nullopt;
  }
  return counts;
}

std::string encodeState(const FleetState& state) {
  const RunProgress& p = state.progress;
  json history = json::array();
  for (const StepRecord& step : p.history) {
    history.push_back({{"weight", step.weight},
                       {"started_unix_ms", unixMillis(step.started_wall)},
                       {"baseline_requests", step.baseline_requests},
                       {"canary_requests", step.canary_requests},
                       {"outcome", step.outcome}});
  }
  return json{{"fingerprint", state.fingerprint},
              {"leader", state.leader},
              {"state", stateName(p.state)},
              {"step", p.step},
              {"reason", p.reason},
              {"step_started_unix_ms", unixMillis(p.step_started)},
              {"baseline", armJson(p.baseline)},
              {"canary", armJson(p.canary)},
              {"step_baseline", armJson(p.step_baseline)},
              {"step_canary", armJson(p.step_canary)},
              {"p_values",
               {{"error", p.error_p},
                {"latency", p.latency_p},
                {"max_error_rate", p.max_error_rate_p},
                {"max_p99", p.max_p99_p}}},
              {"history", std::move(history)},
              {"applied", state.applied}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<FleetState> decodeState(std::string_view text, std::string& error) {
  auto object = parseObject(text, error);
  if (!object) return std::nullopt;
  FleetState state;
  RunProgress& p = state.progress;
  std::string state_name;
  uint64_t step = 0;
  int64_t step_started = 0;
  if (!readString(*object, "fingerprint", state.fingerprint) ||
      !readString(*object, "leader", state.leader) || !readString(*object, "state", state_name) ||
      !readU64(*object, "step", step) || !readString(*object, "reason", p.reason) ||
      !readI64(*object, "step_started_unix_ms", step_started)) {
    error = "a field of the state is missing or of the wrong type";
    return std::nullopt;
  }
  const std::optional<State> run_state = stateFromName(state_name);
  if (!run_state) {
    error = "unknown state '" + state_name + "'";
    return std::nullopt;
  }
  p.state = *run_state;
  p.step = static_cast<size_t>(step);
  p.step_started = fromUnixMillis(step_started);
  if (!readArm(*object, "baseline", p.baseline, error) ||
      !readArm(*object, "canary", p.canary, error) ||
      !readArm(*object, "step_baseline", p.step_baseline, error) ||
      !readArm(*object, "step_canary", p.step_canary, error)) {
    return std::nullopt;
  }
  auto ps = object->find("p_values");
  if (ps == object->end() || !ps->is_object() || !readDouble(*ps, "error", p.error_p) ||
      !readDouble(*ps, "latency", p.latency_p) ||
      !readDouble(*ps, "max_error_rate", p.max_error_rate_p) ||
      !readDouble(*ps, "max_p99", p.max_p99_p)) {
    error = "bad p_values";
    return std::nullopt;
  }
  auto history = object->find("history");
  if (history == object->end() || !history->is_array()) {
    error = "no history";
    return std::nullopt;
  }
  for (const json& item : *history) {
    StepRecord record;
    uint64_t weight = 0;
    int64_t started = 0;
    if (!item.is_object() || !readU64(item, "weight", weight) ||
        !readI64(item, "started_unix_ms", started) ||
        !readU64(item, "baseline_requests", record.baseline_requests) ||
        !readU64(item, "canary_requests", record.canary_requests) ||
        !readString(item, "outcome", record.outcome) || weight > 100) {
      error = "bad history entry";
      return std::nullopt;
    }
    record.weight = static_cast<uint32_t>(weight);
    record.started_wall = fromUnixMillis(started);
    p.history.push_back(std::move(record));
  }
  auto applied = object->find("applied");
  if (applied == object->end() || !applied->is_object()) {
    error = "no applied requests";
    return std::nullopt;
  }
  for (const auto& [id, sequence] : applied->items()) {
    if (!sequence.is_number_unsigned()) {
      error = "bad applied request of '" + id + "'";
      return std::nullopt;
    }
    state.applied[id] = sequence.get<uint64_t>();
  }
  return state;
}

std::string encodeRequest(const SteeringRequest& request) {
  return json{{"action", steeringName(request.steering)}, {"sequence", request.sequence}}.dump();
}

std::optional<SteeringRequest> decodeRequest(std::string_view text, std::string& error) {
  auto object = parseObject(text, error);
  if (!object) return std::nullopt;
  std::string action;
  SteeringRequest request;
  if (!readString(*object, "action", action) || !readU64(*object, "sequence", request.sequence)) {
    error = "a request needs an action and a sequence";
    return std::nullopt;
  }
  const std::optional<Steering> steering = steeringFromName(action);
  if (!steering) {
    error = "unknown action '" + action + "'";
    return std::nullopt;
  }
  request.steering = *steering;
  return request;
}

FleetCounts CountLedger::advance(const std::map<std::string, FleetCounts>& counts) {
  FleetCounts added;
  std::map<std::string, FleetCounts> seen;
  for (const auto& [id, current] : counts) {
    auto before = seen_.find(id);
    const bool continues = before != seen_.end() && before->second.epoch == current.epoch &&
                           covers(current.baseline, before->second.baseline) &&
                           covers(current.canary, before->second.canary);
    if (continues) {
      added.baseline.add(difference(current.baseline, before->second.baseline));
      added.canary.add(difference(current.canary, before->second.canary));
    } else {
      added.baseline.add(current.baseline);
      added.canary.add(current.canary);
    }
    seen.emplace(id, current);
  }
  seen_ = std::move(seen);
  return added;
}

}  // namespace remora::canary

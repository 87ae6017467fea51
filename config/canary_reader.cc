// Canary reading: the release's arms, steps, stickiness, analysis limits and deadline, each
// bounded; then each canary's route, found and checked against its cluster.
#include "config/canary_reader.h"

#include <set>
#include <tuple>

#include "config/duration.h"
#include "config/field_readers.h"
#include "config/http_syntax.h"
#include "config/mirror_reader.h"

namespace remora::config {
namespace {

constexpr uint64_t kMaxMinRequests = 1000000000;
// A gate that failed this often in a row is asked again at the next step_interval anyway.
constexpr uint64_t kMaxWebhookRetries = 10;

void readSteps(YamlReader& reader, const Located& at, std::vector<uint32_t>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "steps");
  if (!items) return;
  if (items->empty()) {
    reader.error(at.where, "steps must list at least one weight");
    return;
  }
  std::vector<uint32_t> steps;
  for (const Located& item : *items) {
    std::optional<uint64_t> weight = reader.integer(item, "step", 1, 100);
    if (!weight) return;
    if (!steps.empty() && *weight <= steps.back()) {
      reader.error(item.where, "steps must increase: " + std::to_string(*weight) + " after " +
                                   std::to_string(steps.back()));
      return;
    }
    steps.push_back(static_cast<uint32_t>(*weight));
  }
  out = std::move(steps);
}

void readSticky(YamlReader& reader, const Located& at, Canary& out) {
  std::optional<Fields> fields = reader.mapping(at, "sticky", {"header", "cookie"});
  if (!fields) return;
  if (fields->all().size() != 1) {
    reader.error(at.where, "sticky takes exactly one of header or cookie");
    return;
  }
  const Field& f = fields->all().front();
  std::optional<std::string> name = reader.nonEmptyString(f.value, f.key);
  if (!name) return;
  out.sticky_by = f.key == "header" ? Canary::StickyBy::Header : Canary::StickyBy::Cookie;
  // Header names are matched lowercase; cookie names as written.
  out.sticky_name = out.sticky_by == Canary::StickyBy::Header ? toLower(*name) : *name;
}

void readAnalysis(YamlReader& reader, const Located& at, Canary::Analysis& out) {
  std::optional<Fields> fields =
      reader.mapping(at, "analysis",
                     {"max_error_rate_increase", "max_p99_ratio", "min_p99_increase", "confidence",
                      "max_error_rate", "max_p99"});
  if (!fields) return;
  if (const Field* f = fields->find("max_error_rate_increase")) {
    if (auto v = reader.number(f->value, f->key, 0, 1)) out.max_error_rate_increase = *v;
  }
  if (const Field* f = fields->find("max_p99_ratio")) {
    if (auto v = reader.number(f->value, f->key, 1, 1000)) out.max_p99_ratio = *v;
  }
  readDuration(reader, *fields, "min_p99_increase", out.min_p99_increase);
  if (const Field* f = fields->find("confidence")) {
    // Below 0.5 a coin judges better; above 0.9999 no canary gets enough traffic to fail.
    if (auto v = reader.number(f->value, f->key, 0.5, 0.9999)) out.confidence = *v;
  }
  if (const Field* f = fields->find("max_error_rate")) {
    if (auto v = reader.number(f->value, f->key, 0, 1)) out.max_error_rate = *v;
  }
  if (fields->has("max_p99")) {
    Duration limit{0};
    if (readPositiveDuration(reader, *fields, "max_p99", limit)) out.max_p99 = limit;
  }
}

void readWebhookPhases(YamlReader& reader, const Located& at, Canary::Webhook& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "on");
  if (!items) return;
  if (items->empty()) {
    reader.error(at.where, "on must list step, promote or both");
    return;
  }
  out.on_step = false;
  out.on_promote = false;
  for (const Located& item : *items) {
    std::optional<std::string> phase = reader.string(item, "on");
    if (!phase) continue;
    if (*phase == "step") {
      out.on_step = true;
    } else if (*phase == "promote") {
      out.on_promote = true;
    } else {
      reader.error(item.where, "a webhook's on lists step or promote, not '" + *phase + "'");
    }
  }
}

void readWebhooks(YamlReader& reader, const Located& at, std::vector<Canary::Webhook>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "webhooks");
  if (!items) return;
  for (const Located& item : *items) {
    std::optional<Fields> fields =
        reader.mapping(item, "webhook", {"url", "on", "timeout", "retries"});
    if (!fields) continue;
    Canary::Webhook hook;
    reader.require(*fields, "webhook", "url");
    if (const Field* f = fields->find("url")) {
      if (auto url = reader.nonEmptyString(f->value, "url")) {
        if (isHttpUrl(*url)) {
          hook.url = *url;
        } else {
          reader.error(f->value.where,
                       "a webhook's url must be an http:// or https:// URL, not '" + *url + "'");
        }
      }
    }
    if (const Field* f = fields->find("on")) readWebhookPhases(reader, f->value, hook);
    readPositiveDuration(reader, *fields, "timeout", hook.timeout);
    readInteger(reader, *fields, "retries", 0, kMaxWebhookRetries, hook.retries);
    out.push_back(std::move(hook));
  }
}

void readArm(YamlReader& reader, const Fields& fields, std::string_view key, Metadata& out) {
  const Field* f = fields.find(key);
  if (f == nullptr) return;
  std::optional<Metadata> selector = reader.stringMap(f->value, key);
  if (!selector) return;
  if (selector->empty()) {
    reader.error(f->value.where, std::string(key) + " must select endpoints by metadata");
    return;
  }
  out = std::move(*selector);
}

Canary readCanary(YamlReader& reader, const Located& at) {
  Canary canary;
  canary.location = at.where;
  std::optional<Fields> fields = reader.mapping(
      at, "canary",
      {"name", "route", "cluster", "baseline", "canary", "steps", "step_interval", "min_requests",
       "sticky", "analysis", "deadline", "on_deadline", "fleet", "webhooks", "shadow"});
  if (!fields) return canary;
  for (std::string_view key : {"name", "route", "cluster", "baseline", "canary"}) {
    reader.require(*fields, "canary", key);
  }
  if (const Field* f = fields->find("name")) {
    if (auto name = reader.nonEmptyString(f->value, "name")) canary.name = *name;
  }
  if (const Field* f = fields->find("route")) {
    if (auto route = reader.nonEmptyString(f->value, "route")) canary.route = *route;
  }
  if (const Field* f = fields->find("cluster")) {
    if (auto cluster = reader.nonEmptyString(f->value, "cluster")) canary.cluster = *cluster;
  }
  readArm(reader, *fields, "baseline", canary.baseline);
  readArm(reader, *fields, "canary", canary.canary);
  if (!canary.baseline.empty() && canary.baseline == canary.canary) {
    reader.error(fields->find("canary")->value.where,
                 "canary selects the same endpoints as baseline");
  }
  if (const Field* f = fields->find("steps")) readSteps(reader, f->value, canary.steps);
  readPositiveDuration(reader, *fields, "step_interval", canary.step_interval);
  readInteger(reader, *fields, "min_requests", 1, kMaxMinRequests, canary.min_requests);
  if (const Field* f = fields->find("sticky")) readSticky(reader, f->value, canary);
  if (const Field* f = fields->find("analysis")) readAnalysis(reader, f->value, canary.analysis);
  if (const Field* f = fields->find("deadline")) {
    Duration deadline{0};
    if (readPositiveDuration(reader, *fields, "deadline", deadline)) {
      // The deadline is looked at once a step has lasted step_interval.
      if (deadline < canary.step_interval) {
        reader.error(f->value.where, "deadline must not be less than step_interval (" +
                                         formatDuration(canary.step_interval) + ")");
      } else {
        canary.deadline = deadline;
      }
    }
  }
  if (const Field* f = fields->find("on_deadline")) {
    if (auto text = reader.string(f->value, "on_deadline")) {
      if (*text == "abort") {
        canary.on_deadline = Canary::OnDeadline::Abort;
      } else if (*text == "pause") {
        canary.on_deadline = Canary::OnDeadline::Pause;
      } else {
        reader.error(f->value.where, "on_deadline must be abort or pause, not '" + *text + "'");
      }
    }
  }
  if (const Field* f = fields->find("webhooks")) readWebhooks(reader, f->value, canary.webhooks);
  if (const Field* f = fields->find("shadow")) {
    canary.shadow = readCanaryShadow(reader, f->value);
    if (canary.shadow) {
      canary.shadow->cluster = canary.cluster;
      canary.shadow->subset = canary.canary;
    }
  }
  if (const Field* f = fields->find("fleet")) {
    if (auto fleet = reader.boolean(f->value, "fleet")) canary.fleet = *fleet;
  }
  return canary;
}

bool isIndex(const std::string& text) {
  return !text.empty() && text.size() < 10 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

void readCanaries(YamlReader& reader, const Located& at, std::vector<Canary>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "canaries");
  if (!items) return;
  UniqueNames names("canary");
  for (const Located& item : *items) {
    Canary canary = readCanary(reader, item);
    if (!canary.name.empty()) names.add(reader, canary.name, canary.location);
    out.push_back(std::move(canary));
  }
}

std::optional<RoutePlace> findRoute(const Config& config, const std::string& ref,
                                    std::string& why) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t slash = ref.find('/', start);
    parts.push_back(ref.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() == 2 || parts.size() == 3) {
    for (size_t l = 0; l < config.listeners.size(); ++l) {
      const Listener& listener = config.listeners[l];
      if (listener.name != parts[0]) continue;
      size_t host = listener.virtual_hosts.size();
      if (parts.size() == 2) {
        // A listener written with `routes:` has its one virtual host named after it.
        if (listener.virtual_hosts.size() == 1 && listener.virtual_hosts[0].name == listener.name) {
          host = 0;
        }
      } else {
        for (size_t h = 0; h < listener.virtual_hosts.size(); ++h) {
          if (listener.virtual_hosts[h].name == parts[1]) host = h;
        }
      }
      if (host == listener.virtual_hosts.size()) {
        why = parts.size() == 2
                  ? "listener '" + parts[0] + "' has virtual hosts: name one"
                  : "listener '" + parts[0] + "' has no virtual host '" + parts[1] + "'";
        return std::nullopt;
      }
      const std::string& index = parts.back();
      const size_t count = listener.virtual_hosts[host].routes.size();
      if (!isIndex(index) || std::stoul(index) >= count) {
        why = "route index '" + index + "' is not in 0.." + std::to_string(count - 1);
        return std::nullopt;
      }
      return RoutePlace{l, host, std::stoul(index)};
    }
    why = "no listener '" + parts[0] + "'";
    return std::nullopt;
  }
  std::optional<RoutePlace> found;
  for (size_t l = 0; l < config.listeners.size(); ++l) {
    const auto& hosts = config.listeners[l].virtual_hosts;
    for (size_t h = 0; h < hosts.size(); ++h) {
      for (size_t r = 0; r < hosts[h].routes.size(); ++r) {
        if (hosts[h].routes[r].name != ref) continue;
        if (found) {
          why = "more than one route is named '" + ref + "': use listener/virtual_host/index";
          return std::nullopt;
        }
        found = RoutePlace{l, h, r};
      }
    }
  }
  if (!found) why = "no route is named '" + ref + "'";
  return found;
}

void checkCanaries(YamlReader& reader, const Config& config) {
  std::set<std::tuple<size_t, size_t, size_t>> taken;
  for (const Canary& canary : config.canaries) {
    if (canary.fleet.value_or(false) && !config.registry.etcd && !config.registry.consul) {
      reader.error(canary.location, "canary '" + canary.name +
                                        "': fleet: true needs an etcd or consul registry, whose "
                                        "KV store the remoras decide through");
    }
    if (canary.route.empty() || canary.cluster.empty()) continue;
    std::string why;
    std::optional<RoutePlace> place = findRoute(config, canary.route, why);
    if (!place) {
      reader.error(canary.location,
                   "canary '" + canary.name + "': route '" + canary.route + "': " + why);
      continue;
    }
    const Route& route =
        config.listeners[place->listener].virtual_hosts[place->virtual_host].routes[place->route];
    // The canary makes the route's split (baseline and canary subsets of its cluster), so the
    // route names the cluster alone: no subset, no split of its own.
    if (route.cluster != canary.cluster || !route.subset.empty()) {
      reader.error(canary.location, "canary '" + canary.name + "': route '" + canary.route +
                                        "' must send to `cluster: " + canary.cluster +
                                        "` without a subset or split (the canary splits it)");
    }
    if (canary.shadow && route.mirror) {
      reader.error(canary.location, "canary '" + canary.name + "': route '" + canary.route +
                                        "' has a mirror: a canary in shadow mode mirrors its "
                                        "route to the canary itself");
    }
    if (!taken.insert({place->listener, place->virtual_host, place->route}).second) {
      reader.error(canary.location, "canary '" + canary.name + "': route '" + canary.route +
                                        "' already has a canary");
    }
  }
}

}  // namespace remora::config

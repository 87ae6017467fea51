// Static host names: one lookup in flight per name, refreshed at its TTL (floored), failures
// retried with backoff while the last good addresses stay.
#include "discovery/dns/static_hosts.h"

#include <arpa/inet.h>

#include <algorithm>

#include "proxy/log.h"

namespace remora::discovery::dns {
namespace {

constexpr std::chrono::milliseconds kMaxRefresh{300000};
// Even a TTL of 0 with `min_ttl: 0` must not make a busy loop.
constexpr std::chrono::milliseconds kRefreshFloor{100};

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000) * 1000};
}

}  // namespace

struct StaticHosts::Name {
  StaticHosts* owner = nullptr;
  std::string host;
  HostAddresses result;
  event* timer = nullptr;
  bool in_flight = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  Backoff backoff{std::chrono::milliseconds(1000), std::chrono::milliseconds(30000)};
  ~Name() {
    *alive = false;
    if (timer != nullptr) event_free(timer);
  }
};

StaticHosts::StaticHosts(event_base* base, const config::DnsRegistry& resolver,
                         std::function<void()> on_change)
    : base_(base),
      on_change_(std::move(on_change)),
      min_refresh_(std::max(resolver.min_ttl, kRefreshFloor)),
      channel_(base, resolver) {}

StaticHosts::~StaticHosts() = default;

bool StaticHosts::isLiteral(const std::string& host) {
  in6_addr storage;
  return inet_pton(AF_INET, host.c_str(), &storage) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &storage) == 1;
}

void StaticHosts::setNames(const std::set<std::string>& names) {
  std::map<std::string, std::unique_ptr<Name>> next;
  for (const std::string& host : names) {
    auto existing = names_.find(host);
    if (existing != names_.end()) {
      next.emplace(host, std::move(existing->second));
      continue;
    }
    auto name = std::make_unique<Name>();
    name->owner = this;
    name->host = host;
    name->timer = evtimer_new(base_, &StaticHosts::onTimer, name.get());
    resolve(*name);
    next.emplace(host, std::move(name));
  }
  names_ = std::move(next);
}

const HostAddresses* StaticHosts::find(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second->result;
}

void StaticHosts::onTimer(evutil_socket_t, short, void* arg) {
  auto* name = static_cast<Name*>(arg);
  name->owner->resolve(*name);
}

void StaticHosts::resolve(Name& name) {
  if (name.in_flight) return;
  name.in_flight = true;
  // The channel outlives every Name (members are destroyed before it), but a dropped name's
  // answer may still arrive: `alive` tells.
  channel_.resolveHost(
      name.host, 0,
      [this, &name, alive = name.alive](const DnsResult& result,
                                        std::vector<config::Address> addresses) {
        if (!*alive) return;
        name.in_flight = false;
        if (result.status != DnsStatus::Ok || addresses.empty()) {
          // A failure or an empty answer keeps the last good addresses: a resolver hiccup
          // must not empty a static cluster.
          name.result.error =
              result.status == DnsStatus::Failed ? result.error : "no A/AAAA records";
          const auto wait = name.backoff.next();
          LOG_WARN("dns: resolving %s: %s; %s, retrying in %lldms", name.host.c_str(),
                   name.result.error.c_str(),
                   name.result.resolved ? "keeping the last addresses" : "not resolved yet",
                   static_cast<long long>(wait.count()));
          const timeval tv = toTimeval(wait);
          evtimer_add(name.timer, &tv);
          if (!name.result.resolved) on_change_();  // so the endpoint shows why it is out
          return;
        }
        name.backoff.reset();
        // IPv4 first, as the system resolver orders them: `localhost` is 127.0.0.1 and ::1,
        // and an app listening on one family only must not get half its requests refused.
        const bool any_v4 = std::any_of(addresses.begin(), addresses.end(), [](const auto& a) {
          return a.host.find(':') == std::string::npos;
        });
        std::vector<std::string> ips;
        for (const auto& address : addresses) {
          if (!any_v4 || address.host.find(':') == std::string::npos) ips.push_back(address.host);
        }
        std::sort(ips.begin(), ips.end());
        ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
        const bool changed = !name.result.resolved || ips != name.result.addresses;
        name.result.resolved = true;
        name.result.error.clear();
        name.result.addresses = std::move(ips);
        const auto ttl = std::clamp<std::chrono::milliseconds>(
            std::chrono::seconds(result.ttl), min_refresh_, std::max(min_refresh_, kMaxRefresh));
        const timeval tv = toTimeval(ttl);
        evtimer_add(name.timer, &tv);
        if (changed) {
          LOG_INFO("dns: %s is %zu address(es)", name.host.c_str(), name.result.addresses.size());
          on_change_();
        }
      });
}

}  // namespace remora::discovery::dns

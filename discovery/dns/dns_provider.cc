// The dns registry's refresh loop: per-service SRV lookups, TTL re-queries, backoff, views.
#include "discovery/dns/dns_provider.h"

#include <algorithm>
#include <utility>

#include "discovery/backoff.h"
#include "discovery/dns/srv_order.h"
#include "proxy/log.h"

namespace remora::discovery::dns {
namespace {

// With TTL 0 and min_ttl 0 a service would be asked again in a busy loop.
constexpr std::chrono::milliseconds kMinRefresh{100};

struct EventFree {
  void operator()(event* e) const { event_free(e); }
};

bool sameEndpoints(const std::vector<RegistryEndpoint>& a, const std::vector<RegistryEndpoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const RegistryEndpoint& x, const RegistryEndpoint& y) {
                      return x.endpoint.address.host == y.endpoint.address.host &&
                             x.endpoint.address.port == y.endpoint.address.port &&
                             x.endpoint.weight == y.endpoint.weight &&
                             x.endpoint.meta == y.endpoint.meta && x.healthy == y.healthy &&
                             x.health_reason == y.health_reason;
                    });
}

bool sameView(const RegistryView& a, const RegistryView& b) {
  return std::equal(a.services.begin(), a.services.end(), b.services.begin(), b.services.end(),
                    [](const auto& x, const auto& y) {
                      return x.first == y.first && sameEndpoints(x.second, y.second);
                    });
}

timeval toTimeval(std::chrono::milliseconds wait) {
  return timeval{static_cast<time_t>(wait.count() / 1000),
                 static_cast<suseconds_t>(wait.count() % 1000) * 1000};
}

}  // namespace

struct DnsProvider::Service {
  DnsProvider* provider = nullptr;
  std::string name;   // as the clusters name it
  std::string query;  // the SRV name asked
  uint64_t id = 0;
  bool answered = false;                    // answered or failed at least once: it can be in a view
  bool failing = false;                     // the last lookup failed
  std::vector<RegistryEndpoint> endpoints;  // the last good ones
  Backoff backoff{std::chrono::milliseconds(1000), std::chrono::milliseconds(30000)};
  std::unique_ptr<event, EventFree> timer;
};

DnsProvider::DnsProvider(event_base* base, const config::DnsRegistry& config,
                         ProviderCallbacks callbacks)
    : base_(base),
      config_(config),
      callbacks_(std::move(callbacks)),
      channel_(std::make_unique<AresChannel>(base, config)) {
  last_view_.source = "dns";
  if (!channel_->error().empty()) LOG_WARN("dns: %s", channel_->error().c_str());
}

DnsProvider::~DnsProvider() {
  // First, so that no lookup is left to answer into the services below.
  channel_.reset();
}

std::string DnsProvider::queryName(const std::string& service, const std::string& domain) {
  std::string name = service.starts_with('_') ? service : "_" + service + "._tcp";
  if (!domain.empty() && !name.ends_with('.')) name += "." + domain;
  return name;
}

void DnsProvider::watch(const std::set<std::string>& services) {
  std::erase_if(services_, [&](const auto& entry) { return !services.contains(entry.first); });
  for (const std::string& name : services) {
    if (services_.contains(name)) continue;
    auto service = std::make_unique<Service>();
    service->provider = this;
    service->name = name;
    service->query = queryName(name, config_.domain);
    service->id = ++next_id_;
    service->timer.reset(evtimer_new(base_, &DnsProvider::onTimer, service.get()));
    Service& added = *service;
    services_.emplace(name, std::move(service));
    query(added);
  }
  updateStatus();
  publish();
}

void DnsProvider::query(Service& service) {
  channel_->querySrv(service.query, [this, name = service.name, id = service.id](
                                        const DnsResult& result, std::vector<SrvRecord> records) {
    answered(name, id, result, std::move(records));
  });
}

void DnsProvider::answered(const std::string& name, uint64_t id, const DnsResult& result,
                           std::vector<SrvRecord> records) {
  auto it = services_.find(name);
  if (it == services_.end() || it->second->id != id) return;  // no longer watched meanwhile
  Service& service = *it->second;
  service.answered = true;
  if (result.status == DnsStatus::Failed) {
    service.failing = true;
    const std::string error = "dns: " + service.query + ": " + result.error;
    status_.last_error = error;
    ++status_.errors;
    const std::chrono::milliseconds wait = service.backoff.next();
    LOG_WARN("%s; retrying in %lldms, keeping the last %zu endpoints", error.c_str(),
             static_cast<long long>(wait.count()), service.endpoints.size());
    schedule(service, wait);
    updateStatus();
    callbacks_.on_error(error);
    publish();  // the first view may have waited for this service
    return;
  }
  // Ok, or NXDOMAIN / NODATA: an authoritative "no such service" or "no SRV records" is the
  // registry's word and may empty the service; only a failed exchange must never do that.
  std::vector<RegistryEndpoint> endpoints =
      result.status == DnsStatus::Ok ? srvEndpoints(records) : std::vector<RegistryEndpoint>{};
  if (!sameEndpoints(endpoints, service.endpoints)) {
    const size_t healthy = static_cast<size_t>(std::count_if(
        endpoints.begin(), endpoints.end(), [](const RegistryEndpoint& e) { return e.healthy; }));
    LOG_INFO("dns: %s: %zu endpoints (%zu in use)%s", service.query.c_str(), endpoints.size(),
             healthy,
             result.status == DnsStatus::NxDomain ? ", NXDOMAIN"
             : result.status == DnsStatus::NoData ? ", no SRV records"
                                                  : "");
    service.endpoints = std::move(endpoints);
  }
  service.failing = false;
  service.backoff.reset();
  status_.last_success = std::chrono::system_clock::now();
  schedule(service, std::max({std::chrono::milliseconds(std::chrono::seconds(result.ttl)),
                              config_.min_ttl, kMinRefresh}));
  updateStatus();
  publish();
}

void DnsProvider::schedule(Service& service, std::chrono::milliseconds wait) {
  const timeval tv = toTimeval(wait);
  evtimer_add(service.timer.get(), &tv);
}

void DnsProvider::onTimer(evutil_socket_t, short, void* service) {
  auto* watched = static_cast<Service*>(service);
  watched->provider->query(*watched);
}

void DnsProvider::updateStatus() {
  // Healthy once every watched service has been read and none is failing: one broken service
  // name is worth showing.
  status_.healthy = std::all_of(services_.begin(), services_.end(), [](const auto& entry) {
    return entry.second->answered && !entry.second->failing;
  });
  if (status_.healthy) status_.last_error.clear();
}

void DnsProvider::publish() {
  // Views are complete: none goes out while a watched service has not been read once.
  for (const auto& [name, service] : services_) {
    if (!service->answered) return;
  }
  RegistryView view;
  view.source = "dns";
  for (const auto& [name, service] : services_) view.services[name] = service->endpoints;
  if (published_once_ && sameView(view, last_view_)) return;
  published_once_ = true;
  last_view_ = view;
  callbacks_.on_view(std::move(view));
}

}  // namespace remora::discovery::dns

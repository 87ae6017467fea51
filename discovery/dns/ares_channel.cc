// The c-ares <-> libevent glue, and the SRV lookup: the answer, then its targets' addresses.
#include "discovery/dns/ares_channel.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <utility>

#include "discovery/dns/dns_answer.h"

namespace remora::discovery::dns {
namespace {

constexpr int kTries = 2;
// c-ares doubles a try's timeout on each round through the servers, so two tries take
// 1 + 2 = 3 base timeouts per server: the base is the configured timeout split that many ways.
constexpr int64_t kTimeoutShares = 3;

int libraryStatus() {
  // Once per process and never cleaned up: channels may live until exit.
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status;
}

struct AddrinfoFree {
  void operator()(ares_addrinfo* info) const { ares_freeaddrinfo(info); }
};

bool isIp(const std::string& host) {
  in6_addr storage;
  return inet_pton(AF_INET, host.c_str(), &storage) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &storage) == 1;
}

// ARES_OPT_TIMEOUTMS is fixed when a channel is made, before it has read resolv.conf; a
// throwaway channel counts the system's servers so the timeout can be split over them.
size_t systemServerCount() {
  ares_channel probe = nullptr;
  if (ares_init(&probe) != ARES_SUCCESS) return 1;
  ares_addr_port_node* servers = nullptr;
  size_t count = 0;
  if (ares_get_servers_ports(probe, &servers) == ARES_SUCCESS) {
    for (const ares_addr_port_node* s = servers; s; s = s->next) ++count;
    ares_free_data(servers);
  }
  ares_destroy(probe);
  return std::max<size_t>(count, 1);
}

void keepSmaller(std::optional<uint32_t>& kept, uint32_t ttl) {
  kept = kept ? std::min(*kept, ttl) : ttl;
}

void addUnique(std::vector<std::string>& ips, std::string ip) {
  if (std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
}

// The addresses of a getaddrinfo result, and the smallest TTL along the way (CNAMEs included).
void collect(const ares_addrinfo* result, std::vector<std::string>& ips,
             std::optional<uint32_t>& ttl) {
  for (const ares_addrinfo_node* node = result->nodes; node; node = node->ai_next) {
    const void* address = nullptr;
    if (node->ai_family == AF_INET) {
      address = &reinterpret_cast<const sockaddr_in*>(node->ai_addr)->sin_addr;
    } else if (node->ai_family == AF_INET6) {
      address = &reinterpret_cast<const sockaddr_in6*>(node->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(node->ai_family, address, text, sizeof(text))) continue;
    addUnique(ips, text);
    keepSmaller(ttl, static_cast<uint32_t>(std::max(node->ai_ttl, 0)));
  }
  for (const ares_addrinfo_cname* cname = result->cnames; cname; cname = cname->next) {
    keepSmaller(ttl, static_cast<uint32_t>(std::max(cname->ttl, 0)));
  }
}

ares_addrinfo_hints addressHints(int family) {
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  // Sorting (RFC 6724) connects a UDP socket per address to rank them; remora balances over all
  // of them anyway.
  hints.ai_flags = ARES_AI_NOSORT;
  return hints;
}

constexpr int kFamilies[] = {AF_INET, AF_INET6};

}  // namespace

// The A and AAAA halves of one address lookup. They are asked apart because one
// ares_getaddrinfo(AF_UNSPEC) ends with the status of whichever query finished last: an A query
// the server refused, followed by an empty AAAA answer, reads as "no addresses", and a name
// that has some would drop out over a server's failure.
struct AresChannel::FamilyAnswers {
  int pending = 2;
  bool not_found = false;           // a half said the name does not exist
  std::string error;                // the first half that got no answer
  std::vector<std::string> ips[2];  // IPv4, then IPv6
  std::optional<uint32_t> ttl;

  // Takes one half's outcome; true once both are in.
  bool add(int family, int status, const ares_addrinfo* result) {
    const size_t half = family == AF_INET ? 0 : 1;
    if (status == ARES_SUCCESS) {
      collect(result, ips[half], ttl);
    } else if (status == ARES_ENOTFOUND) {
      not_found = true;
    } else if (status != ARES_ENODATA && error.empty()) {
      error = std::string(half == 0 ? "A: " : "AAAA: ") + ares_strerror(status);
    }
    return --pending == 0;
  }

  // Addresses from either half make an answer, even when the other half failed: a resolver that
  // never answers AAAA must not keep a name from resolving. Without any, a failed half means no
  // answer to rely on; only two real answers mean there is nothing.
  DnsStatus status() const {
    if (!ips[0].empty() || !ips[1].empty()) return DnsStatus::Ok;
    if (!error.empty()) return DnsStatus::Failed;
    return not_found ? DnsStatus::NxDomain : DnsStatus::NoData;
  }

  std::vector<std::string> addresses() const {
    std::vector<std::string> all = ips[0];
    all.insert(all.end(), ips[1].begin(), ips[1].end());
    return all;
  }
};

namespace {

// What one half's callback gets: the lookup it belongs to and which family it asked.
template <typename Lookup>
struct FamilyHalf {
  Lookup* lookup = nullptr;
  int family = AF_INET;
};

// Starts the A and the AAAA lookup of `name` for `lookup` (which has `halves`). The second
// call may end the lookup and free it before returning (a name in /etc/hosts): nothing of it
// is touched after.
template <typename Lookup>
void askBothFamilies(ares_channel channel, const char* name, Lookup& lookup,
                     ares_addrinfo_callback callback) {
  lookup.halves[0] = {&lookup, kFamilies[0]};
  lookup.halves[1] = {&lookup, kFamilies[1]};
  FamilyHalf<Lookup>* halves = lookup.halves;
  const ares_addrinfo_hints v4 = addressHints(kFamilies[0]);
  const ares_addrinfo_hints v6 = addressHints(kFamilies[1]);
  ares_getaddrinfo(channel, name, nullptr, &v4, callback, &halves[0]);
  ares_getaddrinfo(channel, name, nullptr, &v6, callback, &halves[1]);
}

}  // namespace

struct AresChannel::SrvLookup {
  AresChannel* channel = nullptr;
  SrvCallback callback;
  std::vector<SrvRecord> records;
  std::optional<uint32_t> ttl;  // the smallest TTL of the SRV records and addresses used
  int pending = 0;              // target lookups not back yet
  std::string error;            // the first target lookup that failed
  std::vector<std::unique_ptr<TargetLookup>> targets;
};

struct AresChannel::TargetLookup {
  SrvLookup* srv = nullptr;
  size_t record = 0;  // index into srv->records
  FamilyAnswers answers;
  FamilyHalf<TargetLookup> halves[2];
};

struct AresChannel::HostLookup {
  AresChannel* channel = nullptr;
  uint16_t port = 0;
  HostCallback callback;
  FamilyAnswers answers;
  FamilyHalf<HostLookup> halves[2];
};

AresChannel::AresChannel(event_base* base, const config::DnsRegistry& config)
    : base_(base),
      timer_(evtimer_new(base, &AresChannel::onTimer, this)),
      deliver_(event_new(base, -1, 0, &AresChannel::onDeliver, this)) {
  setUp(config);
}

AresChannel::~AresChannel() {
  // c-ares ends every pending query with ARES_EDESTRUCTION here and closes its sockets through
  // onSocketState; those callbacks return at once, and the lookups are freed with the maps.
  if (channel_) ares_destroy(channel_);
}

void AresChannel::setUp(const config::DnsRegistry& config) {
  if (const int status = libraryStatus(); status != ARES_SUCCESS) {
    init_error_ = std::string("c-ares: ") + ares_strerror(status);
    return;
  }
  std::string servers;
  for (const config::Address& server : config.servers) {
    if (!isIp(server.host)) {
      init_error_ = "dns server " + server.text() + ": not an IP address";
      return;
    }
    if (!servers.empty()) servers += ',';
    servers += server.text();
  }
  const size_t count = config.servers.empty() ? systemServerCount() : config.servers.size();
  ares_options options{};
  options.sock_state_cb = &AresChannel::onSocketState;
  options.sock_state_cb_data = this;
  options.tries = kTries;
  options.timeout = static_cast<int>(std::clamp<int64_t>(
      config.timeout.count() / (kTimeoutShares * static_cast<int64_t>(count)), 1, INT_MAX));
  ares_channel channel = nullptr;
  int status = ares_init_options(&channel, &options,
                                 ARES_OPT_SOCK_STATE_CB | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS);
  if (status != ARES_SUCCESS) {
    init_error_ = std::string("c-ares init: ") + ares_strerror(status);
    return;
  }
  if (!servers.empty() &&
      (status = ares_set_servers_ports_csv(channel, servers.c_str())) != ARES_SUCCESS) {
    ares_destroy(channel);
    init_error_ = "dns servers " + servers + ": " + ares_strerror(status);
    return;
  }
  channel_ = channel;
}

void AresChannel::querySrv(const std::string& name, SrvCallback callback) {
  if (!channel_) {
    post([callback = std::move(callback), error = init_error_] {
      callback(DnsResult{DnsStatus::Failed, error, 0}, {});
    });
    return;
  }
  auto owned = std::make_unique<SrvLookup>();
  SrvLookup* lookup = owned.get();
  lookup->channel = this;
  lookup->callback = std::move(callback);
  srv_lookups_.emplace(lookup, std::move(owned));
  // ares_query, unlike ares_search, sends the name as it is. It may call back before returning.
  ares_query(channel_, name.c_str(), ns_c_in, ns_t_srv, &AresChannel::onSrvAnswer, lookup);
  armTimer();
}

void AresChannel::resolveHost(const std::string& name, uint16_t port, HostCallback callback) {
  if (!channel_) {
    post([callback = std::move(callback), error = init_error_] {
      callback(DnsResult{DnsStatus::Failed, error, 0}, {});
    });
    return;
  }
  auto owned = std::make_unique<HostLookup>();
  HostLookup* lookup = owned.get();
  lookup->channel = this;
  lookup->port = port;
  lookup->callback = std::move(callback);
  host_lookups_.emplace(lookup, std::move(owned));
  askBothFamilies(channel_, name.c_str(), *lookup, &AresChannel::onHostAddresses);
  armTimer();
}

void AresChannel::onSrvAnswer(void* lookup, int status, int, unsigned char* answer, int length) {
  if (status == ARES_EDESTRUCTION) return;  // the channel is going; the lookup goes with it
  auto* srv = static_cast<SrvLookup*>(lookup);
  srv->channel->srvAnswered(*srv, status, answer, length);
}

void AresChannel::srvAnswered(SrvLookup& lookup, int status, const unsigned char* answer,
                              int length) {
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    // The negative answer's SOA, when there is one, says how long "nothing" holds.
    AnswerExtras extras;
    std::string ignored;
    const bool parsed = answer && length > 0 &&
                        parseAnswerExtras(answer, static_cast<size_t>(length), extras, ignored);
    return endSrv(lookup, {status == ARES_ENOTFOUND ? DnsStatus::NxDomain : DnsStatus::NoData, "",
                           parsed ? extras.negative_ttl.value_or(0) : 0});
  }
  if (status != ARES_SUCCESS) return endSrv(lookup, {DnsStatus::Failed, ares_strerror(status), 0});
  SrvAnswer decoded;
  std::string error;
  if (!answer || length <= 0 ||
      !decodeSrvAnswer(answer, static_cast<size_t>(length), decoded, error)) {
    return endSrv(lookup, {DnsStatus::Failed, "malformed answer: " + error, 0});
  }
  if (decoded.records.empty()) {
    // Answer records, but no SRV among them (a CNAME alone): nothing of the type asked.
    return endSrv(lookup, {DnsStatus::NoData, "", decoded.negative_ttl.value_or(0)});
  }
  lookup.records = std::move(decoded.records);
  lookup.ttl = decoded.ttl;
  startTargets(lookup);
}

void AresChannel::startTargets(SrvLookup& lookup) {
  // Held while the lookups start: one may finish inside ares_getaddrinfo (a target in
  // /etc/hosts), and the last one to finish ends the SRV lookup.
  lookup.pending = 1;
  for (size_t i = 0; i < lookup.records.size(); ++i) {
    const SrvRecord& record = lookup.records[i];
    if (record.target == "." || !record.addresses.empty()) continue;
    lookup.targets.push_back(std::make_unique<TargetLookup>());
    TargetLookup& target = *lookup.targets.back();
    target.srv = &lookup;
    target.record = i;
    ++lookup.pending;
    // The trailing dot makes the name absolute: search domains must not turn it into another.
    const std::string absolute = record.target + ".";
    askBothFamilies(channel_, absolute.c_str(), target, &AresChannel::onTargetAddresses);
  }
  if (--lookup.pending == 0) finishSrv(lookup);
}

void AresChannel::onTargetAddresses(void* half, int status, int, ares_addrinfo* result) {
  std::unique_ptr<ares_addrinfo, AddrinfoFree> owner(result);
  if (status == ARES_EDESTRUCTION) return;
  auto* answered = static_cast<FamilyHalf<TargetLookup>*>(half);
  TargetLookup& target = *answered->lookup;
  if (!target.answers.add(answered->family, status, result)) return;
  target.srv->channel->targetResolved(target);
}

void AresChannel::targetResolved(TargetLookup& target) {
  SrvLookup& lookup = *target.srv;
  SrvRecord& record = lookup.records[target.record];
  const DnsStatus status = target.answers.status();
  if (status == DnsStatus::Ok) {
    record.addresses = target.answers.addresses();
    if (target.answers.ttl) keepSmaller(lookup.ttl, *target.answers.ttl);
  } else if (status == DnsStatus::Failed && lookup.error.empty()) {
    // Only "no such name" or "no address" leave a target out; anything else is no answer.
    lookup.error = "target " + record.target + ": " + target.answers.error;
  }
  if (--lookup.pending == 0) finishSrv(lookup);
}

void AresChannel::finishSrv(SrvLookup& lookup) {
  if (!lookup.error.empty()) {
    lookup.records.clear();
    return endSrv(lookup, {DnsStatus::Failed, lookup.error, 0});
  }
  endSrv(lookup, {DnsStatus::Ok, "", lookup.ttl.value_or(0)});
}

void AresChannel::endSrv(SrvLookup& lookup, DnsResult result) {
  post([callback = std::move(lookup.callback), result = std::move(result),
        records = std::move(lookup.records)]() mutable { callback(result, std::move(records)); });
  srv_lookups_.erase(&lookup);
}

void AresChannel::onHostAddresses(void* half, int status, int, ares_addrinfo* result) {
  std::unique_ptr<ares_addrinfo, AddrinfoFree> owner(result);
  if (status == ARES_EDESTRUCTION) return;
  auto* answered = static_cast<FamilyHalf<HostLookup>*>(half);
  HostLookup* host = answered->lookup;
  if (!host->answers.add(answered->family, status, result)) return;
  DnsResult out;
  out.status = host->answers.status();
  std::vector<config::Address> addresses;
  if (out.status == DnsStatus::Ok) {
    for (std::string& ip : host->answers.addresses()) {
      addresses.push_back(config::Address{std::move(ip), host->port});
    }
    out.ttl = host->answers.ttl.value_or(0);
  } else if (out.status == DnsStatus::Failed) {
    out.error = host->answers.error;
  }
  AresChannel* channel = host->channel;
  channel->post(
      [callback = std::move(host->callback), out = std::move(out),
       addresses = std::move(addresses)]() mutable { callback(out, std::move(addresses)); });
  channel->host_lookups_.erase(host);
}

void AresChannel::armTimer() {
  if (!channel_) return;
  timeval storage;
  if (const timeval* wait = ares_timeout(channel_, nullptr, &storage)) {
    evtimer_add(timer_.get(), wait);
  } else {
    evtimer_del(timer_.get());
  }
}

void AresChannel::post(std::function<void()> callback) {
  ready_.push_back(std::move(callback));
  event_active(deliver_.get(), 0, 0);
}

void AresChannel::onSocketState(void* self, ares_socket_t fd, int readable, int writable) {
  auto* channel = static_cast<AresChannel*>(self);
  // Freeing a socket's event from inside its own callback is fine: libevent copies what it needs
  // before calling.
  channel->sockets_.erase(fd);
  if (!readable && !writable) return;
  const short what =
      static_cast<short>(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
  EventPtr watcher(event_new(channel->base_, fd, what, &AresChannel::onSocket, channel));
  event_add(watcher.get(), nullptr);
  channel->sockets_.emplace(fd, std::move(watcher));
}

void AresChannel::onSocket(evutil_socket_t fd, short what, void* self) {
  auto* channel = static_cast<AresChannel*>(self);
  ares_process_fd(channel->channel_, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  channel->armTimer();
}

void AresChannel::onTimer(evutil_socket_t, short, void* self) {
  auto* channel = static_cast<AresChannel*>(self);
  ares_process_fd(channel->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  channel->armTimer();
}

void AresChannel::onDeliver(evutil_socket_t, short, void* self) {
  auto* channel = static_cast<AresChannel*>(self);
  if (channel->ready_.empty()) return;
  std::function<void()> callback = std::move(channel->ready_.front());
  channel->ready_.pop_front();
  if (!channel->ready_.empty()) event_active(channel->deliver_.get(), 0, 0);
  callback();  // last: it may destroy the channel
}

}  // namespace remora::discovery::dns

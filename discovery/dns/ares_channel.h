// AresChannel: one c-ares resolver driven by a libevent base, for SRV and address lookups.
#pragma once

#include <ares.h>
#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "discovery/dns/srv_record.h"

namespace remora::discovery::dns {

enum class DnsStatus {
  Ok,        // records came back (an SRV target among them may still be unusable)
  NxDomain,  // the name does not exist: an authoritative "nothing"
  NoData,    // the name exists but has no record of the type asked: also authoritative
  Failed,    // no answer to rely on: timeout, refused, SERVFAIL, malformed; see `error`
};

struct DnsResult {
  DnsStatus status = DnsStatus::Ok;
  std::string error;  // set when Failed
  // How long the answer may be cached, in seconds: the smallest TTL of the records used (for a
  // negative answer, from the SOA when the server sent one); 0 when unknown or not cacheable.
  uint32_t ttl = 0;
};

class AresChannel {
 public:
  using SrvCallback = std::function<void(const DnsResult& result, std::vector<SrvRecord> records)>;
  using HostCallback =
      std::function<void(const DnsResult& result, std::vector<config::Address> addresses)>;

  // Asks config.servers (empty: the system's resolv.conf); config.timeout bounds one query over
  // all servers and tries. A channel that could not be set up still exists: error() says why
  // and every lookup fails with that.
  AresChannel(event_base* base, const config::DnsRegistry& config);
  // Cancels every lookup; no callback runs afterwards.
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  const std::string& error() const { return init_error_; }

  // The SRV records of `name` (taken as it is: no search domains), each target resolved to its
  // addresses from the answer's additional section, or else by an A/AAAA lookup of its own. A
  // target that does not exist leaves its record without addresses; one whose lookup failed
  // fails the whole answer, so that a network problem never looks like fewer targets.
  void querySrv(const std::string& name, SrvCallback callback);
  // The A and AAAA addresses of a plain host name (search domains and /etc/hosts apply, as for
  // the system resolver), each with `port`.
  void resolveHost(const std::string& name, uint16_t port, HostCallback callback);

  // Callbacks always run later from the event loop, never inside querySrv/resolveHost or inside
  // c-ares, so a callback may destroy this channel.

 private:
  struct FamilyAnswers;
  struct SrvLookup;
  struct TargetLookup;
  struct HostLookup;
  struct EventFree {
    void operator()(event* e) const { event_free(e); }
  };
  using EventPtr = std::unique_ptr<event, EventFree>;

  void setUp(const config::DnsRegistry& config);
  void armTimer();
  void post(std::function<void()> callback);
  void srvAnswered(SrvLookup& lookup, int status, const unsigned char* answer, int length);
  void targetResolved(TargetLookup& target);
  void startTargets(SrvLookup& lookup);
  void finishSrv(SrvLookup& lookup);
  void endSrv(SrvLookup& lookup, DnsResult result);

  static void onSocketState(void* self, ares_socket_t fd, int readable, int writable);
  static void onSocket(evutil_socket_t fd, short what, void* self);
  static void onTimer(evutil_socket_t, short, void* self);
  static void onDeliver(evutil_socket_t, short, void* self);
  static void onSrvAnswer(void* lookup, int status, int timeouts, unsigned char* answer,
                          int length);
  static void onTargetAddresses(void* half, int status, int timeouts, ares_addrinfo* result);
  static void onHostAddresses(void* half, int status, int timeouts, ares_addrinfo* result);

  event_base* base_;
  ares_channel channel_ = nullptr;  // null when setting up failed
  std::string init_error_;
  EventPtr timer_;
  EventPtr deliver_;
  std::map<ares_socket_t, EventPtr> sockets_;  // one event per socket c-ares wants watched
  std::deque<std::function<void()>> ready_;    // finished lookups' callbacks, run by deliver_
  std::unordered_map<SrvLookup*, std::unique_ptr<SrvLookup>> srv_lookups_;
  std::unordered_map<HostLookup*, std::unique_ptr<HostLookup>> host_lookups_;
};

}  // namespace remora::discovery::dns

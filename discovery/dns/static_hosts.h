// StaticHosts: the addresses of static endpoints written as host names, resolved (A/AAAA) with
// c-ares in the main loop and resolved again when their TTL runs out.
#pragma once

#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "discovery/backoff.h"
#include "discovery/dns/ares_channel.h"

namespace remora::discovery::dns {

struct HostAddresses {
  bool resolved = false;               // at least one answer came back
  std::vector<std::string> addresses;  // IP literals, as the last good answer gave them
  std::string error;                   // the last failure ("" after a success)
};

class StaticHosts {
 public:
  // Asks `resolver.servers` (empty: the system's); a name is resolved again when its TTL runs
  // out, but not sooner than `resolver.min_ttl`. `on_change` runs when a name's addresses change.
  StaticHosts(event_base* base, const config::DnsRegistry& resolver,
              std::function<void()> on_change);
  ~StaticHosts();

  // The names to keep resolved (IP literals are left out by the caller); others are dropped.
  void setNames(const std::set<std::string>& names);
  // Null for a name not asked for.
  const HostAddresses* find(const std::string& name) const;

  // True when `host` needs no lookup.
  static bool isLiteral(const std::string& host);

 private:
  struct Name;
  void resolve(Name& name);
  static void onTimer(evutil_socket_t, short, void* arg);

  event_base* base_;
  std::function<void()> on_change_;
  std::chrono::milliseconds min_refresh_;
  AresChannel channel_;
  std::map<std::string, std::unique_ptr<Name>> names_;
};

}  // namespace remora::discovery::dns

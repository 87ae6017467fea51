// Dnsmasq: a real DNS server for the dns registry's tests, /usr/sbin/dnsmasq as a child process
// answering from its command line only (no upstreams, no /etc/hosts) on 127.0.0.1.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace remora::dnstest {

class Dnsmasq {
 public:
  Dnsmasq() = default;
  ~Dnsmasq() { stop(); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  // Starts on a free port with these records (--srv-host=..., --host-record=..., --local-ttl=..)
  // on top of the fixed flags; names under test.local that are not given answer NXDOMAIN.
  // dnsmasq cannot take port 0, so a port found free is passed and another tried if it was
  // taken meanwhile. "" on success, else what went wrong (with dnsmasq's output).
  std::string start(const std::vector<std::string>& records);
  // Stops and starts again on the same port with other records.
  std::string restart(const std::vector<std::string>& records);
  // SIGKILL, reap, and remove dnsmasq's log; nothing to kill when not running.
  void stop();

  uint16_t port() const { return port_; }

 private:
  std::string launch(const std::vector<std::string>& records);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_path_;
};

// Runs `base` until `done` holds or `limit` passes; whether `done` held.
bool runUntil(event_base* base, const std::function<bool()>& done, std::chrono::milliseconds limit);

}  // namespace remora::dnstest

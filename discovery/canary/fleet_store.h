// FleetStore: what the remoras running one canary need of the registry's KV store to decide
// together: a leadership that dies with its holder, records tied to each remora's lease or
// session, and the leader's state, written only while it leads. etcd and Consul implement it.
#pragma once

#include <event2/event.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "discovery/http_client.h"

namespace remora::canary {

// One run in the store: a canary's name and the fingerprint of its settings. Its records sit
// under `<root><name>/<fingerprint>/`: `leader`, `state`, `counts/<remora>`, `requests/<remora>`.
struct FleetRun {
  std::string name;
  std::string fingerprint;
};

// What one exchange read of a run.
struct FleetView {
  std::string leader;    // the leading remora's id; "" when nobody leads
  bool leading = false;  // this remora holds the leadership (its own lease or session does)
  std::optional<std::string> state;
  std::map<std::string, std::string> counts;    // remora id -> its counts record
  std::map<std::string, std::string> requests;  // remora id -> its steering request
};

// Destroying the returned call cancels it without calling back. Callbacks run on the main loop;
// an error is a text for logs and /canaries.
class FleetStore {
 public:
  virtual ~FleetStore() = default;

  virtual const char* kind() const = 0;         // "etcd" or "consul"
  virtual const std::string& self() const = 0;  // this remora's id in the store

  // For a remora that drains: its lease or session ends now, and its counts, requests and any
  // leadership with it, so another remora leads at once instead of after a TTL. No new one is
  // taken; reads (following the state) go on.
  virtual void resign() = 0;

  // Publishes this remora's `counts` (when given) under its lease or session, takes the run's
  // leadership when nobody holds it, and reads every record of the run.
  virtual std::unique_ptr<discovery::HttpCall> sync(
      const FleetRun& run, std::optional<std::string> counts,
      std::function<void(std::optional<FleetView>, std::string error)> done) = 0;
  // Writes the state, unless this remora no longer leads: `written` false then, with no error.
  virtual std::unique_ptr<discovery::HttpCall> writeState(
      const FleetRun& run, std::string state,
      std::function<void(bool written, std::string error)> done) = 0;
  // Reads the state alone, for followers to follow it quickly; nullopt state: none written yet.
  virtual std::unique_ptr<discovery::HttpCall> readState(
      const FleetRun& run,
      std::function<void(bool ok, std::optional<std::string> state, std::string error)> done) = 0;
  // Leaves a steering request for the leader, under this remora's lease or session.
  virtual std::unique_ptr<discovery::HttpCall> request(
      const FleetRun& run, std::string request,
      std::function<void(bool ok, std::string error)> done) = 0;
};

// A call that runs `then` on the next turn of the loop: how a store answers at once (no lease
// yet) without calling back inside the call that asked.
std::unique_ptr<discovery::HttpCall> answerSoon(event_base* base, std::function<void()> then);

}  // namespace remora::canary

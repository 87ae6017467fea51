// The records remoras running one canary share in the registry's KV store: each remora's counts,
// the leader's state, steering asked of the leader, and the fingerprint that names a release.
// Pure: encoding, decoding (never throws, rejects anything malformed) and summing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "discovery/canary/canary_run.h"

namespace remora::canary {

// 16 hex digits naming the release: every setting that changes what the canary does (not where
// it is written in the file, nor whether it is coordinated). Remoras share a run only when their
// fingerprints match, and a changed canary starts over.
std::string fingerprint(const config::Canary& canary);

// One remora's outcomes of both arms since it started following the run. `epoch` is drawn anew
// by each process: counts that come with another epoch start from zero.
struct FleetCounts {
  uint64_t epoch = 0;
  ArmTotals baseline;
  ArmTotals canary;
};
std::string encodeCounts(const FleetCounts& counts);
std::optional<FleetCounts> decodeCounts(std::string_view text, std::string& error);

// What the leader writes: the run's progress, who wrote it, and the last steering request of
// each remora that it applied (so that no leader applies one twice).
struct FleetState {
  std::string fingerprint;
  std::string leader;
  RunProgress progress;
  std::map<std::string, uint64_t> applied;
};
std::string encodeState(const FleetState& state);
std::optional<FleetState> decodeState(std::string_view text, std::string& error);

// A follower's POST /canaries/<name>/<action>, left for the leader. `sequence` grows with every
// request of one remora, across its restarts.
struct SteeringRequest {
  Steering steering = Steering::Pause;
  uint64_t sequence = 0;
};
std::string encodeRequest(const SteeringRequest& request);
std::optional<SteeringRequest> decodeRequest(std::string_view text, std::string& error);

// The leader's memory of every remora's cumulative counts, to judge each request once.
class CountLedger {
 public:
  // Takes every remora's counts as read now and returns what was added since the last call. A
  // remora seen with a new epoch, or with counts that went down, started again: all of its counts
  // are new. One no longer listed is forgotten. (The epoch of the sum is 0.)
  FleetCounts advance(const std::map<std::string, FleetCounts>& counts);
  void clear() { seen_.clear(); }

 private:
  std::map<std::string, FleetCounts> seen_;
};

}  // namespace remora::canary

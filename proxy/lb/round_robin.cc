// Weighted round robin as earliest deadline first: every member is due again 1 / weight after
// its turn, so a member of weight 3 comes three times as often as one of weight 1, interleaved
// rather than in runs, and a pick costs a heap's O(log n) however many members there are.
#include "proxy/lb/round_robin.h"

#include <algorithm>
#include <unordered_map>

#include "proxy/lb/member_weights.h"

namespace remora {

namespace {

// Earlier deadline first; a tie goes to the member listed first, so picks are reproducible.
bool later(const RoundRobinBalancer::Turn& a, const RoundRobinBalancer::Turn& b) {
  return a.deadline != b.deadline ? a.deadline > b.deadline : a.position > b.position;
}

// Deadlines grow with every turn; past this the whole heap moves back to 0, keeping each member's
// distance to its turn, before doubles lose the precision of small steps.
constexpr double kRebaseAfter = 1e9;

}  // namespace

void RoundRobinBalancer::align(const ClusterInfo& cluster, const SubsetInfo& subset) {
  // A surviving endpoint keeps the time to its next turn, so that a registry update does not send
  // a burst to the first endpoint; a new one is first due halfway through its interval.
  generation_ = subset.generation;
  std::unordered_map<std::string, double> due;
  due.reserve(heap_.size());
  for (const Turn& turn : heap_) due.emplace(keys_[turn.position], turn.deadline - now_);
  const size_t n = subset.members.size();
  keys_.resize(n);
  heap_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    const EndpointInfo& endpoint = cluster.endpoints[subset.members[i]];
    keys_[i] = endpoint.key;
    auto it = due.find(endpoint.key);
    heap_[i] = {it != due.end() ? it->second : 0.5 / std::max<uint32_t>(endpoint.weight, 1), i};
  }
  now_ = 0;
  std::make_heap(heap_.begin(), heap_.end(), later);
}

int RoundRobinBalancer::pick(const ClusterInfo& cluster, const SubsetInfo& subset,
                             const EndpointLoad& load) {
  const size_t n = subset.members.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(subset.members[0]);
  const MemberWeights weights(cluster, subset, load);
  if (subset.equal_weights && !weights.ramping()) {
    return static_cast<int>(subset.members[cursor_++ % n]);
  }
  if (generation_ != subset.generation || heap_.size() != n) align(cluster, subset);
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Turn& turn = heap_.back();
  now_ = turn.deadline;
  // The weight now: a member in its slow start is due again sooner as its weight ramps up.
  turn.deadline += 1.0 / std::max(weights.of(turn.position), 1e-9);
  const uint32_t position = turn.position;
  std::push_heap(heap_.begin(), heap_.end(), later);
  if (now_ > kRebaseAfter) {
    for (Turn& each : heap_) each.deadline -= now_;
    now_ = 0;
  }
  return static_cast<int>(subset.members[position]);
}

}  // namespace remora

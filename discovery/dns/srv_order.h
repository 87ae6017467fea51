// SRV selection (RFC 2782) and how a service's SRV records become remora endpoints.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "discovery/dns/srv_record.h"
#include "discovery/registry_view.h"

namespace remora::discovery::dns {

// RFC 2782's order for a client that contacts targets one after the other: lowest priority
// first; within a priority, repeatedly a weighted random pick among the records not yet placed
// (weight-0 records put first, a number drawn uniformly from [0, sum of weights], the first
// record whose running sum reaches it). Weight-0 records thus come first only with a small chance
// when others have weight, and in a random order among themselves when all are 0.
std::vector<SrvRecord> rfc2782Order(std::vector<SrvRecord> records, std::mt19937_64& random);

// Endpoint weights are the SRV weights times this, so that weight 0 can stay far smaller than
// any real weight (see srvEndpoints) and a weight split over a target's addresses stays close.
inline constexpr uint32_t kSrvWeightScale = 100;

// What remora publishes for one service. remora balances load itself, so instead of an order it
// gets every address with a weight:
//  - a record is usable when its target is not "." and resolved to at least one address; "."
//    (the service is decidedly unavailable) and unresolvable targets give no endpoint;
//  - the usable records of the lowest priority are the healthy endpoints; every other priority
//    is published as a fallback, unhealthy with health_reason "dns: backup (priority N)", so
//    /clusters shows it;
//  - weight: SRV weight * kSrvWeightScale, split evenly over the target's addresses (at least 1).
//    RFC 2782 gives weight 0 "a very small chance" next to records with weight, and means "no
//    selection to do" when every record of a priority has it: so a weight-0 record gets 1 (below
//    1% of any weighted peer), and a priority of only weight-0 records gets equal weights;
//  - meta {"priority": N, "target": the SRV target name}; the host is the address, never the name;
//  - an address reached through several records appears once: at its lowest priority, with the
//    weights of that priority's records added up.
// The result is sorted (priority, then address) so that equal answers give equal views.
std::vector<RegistryEndpoint> srvEndpoints(const std::vector<SrvRecord>& records);

}  // namespace remora::discovery::dns

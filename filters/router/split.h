// A route's weighted split: which of its targets a request goes to, by chance or, for a canary
// with stickiness, by a hash of the request's key.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/message.h"
#include "proxy/route_table.h"

namespace remora::router {

// A target by weight (targets with weight 0 are never chosen), or -1 when none may be;
// `random` (uniform over 64 bits) is called only when there is a choice to make.
int pickTarget(const std::vector<RouteTarget>& targets, uint64_t (*random)());
// The same with the 64-bit point given: the target whose share of [0, 2^64) holds it.
int pickTargetAt(const std::vector<RouteTarget>& targets, uint64_t point);

// Where a stickiness key (a user id, a session cookie) falls in [0, 2^64): the same for every
// remora and every version of it (FNV-1a, then a mix so that similar keys land far apart).
uint64_t stickyPoint(std::string_view key);

// The value of cookie `name` in a Cookie header's value; `found` says whether it was there.
std::string_view cookieValue(std::string_view header, std::string_view name, bool& found);
// The value of cookie `name` in any of the request's Cookie headers.
std::string_view requestCookie(const RequestHeaders& request, std::string_view name, bool& found);

}  // namespace remora::router

// The key a route's `hash:` takes from a request for ring_hash and maglev, hashed the same on
// every remora; and the cookie made up for a request that lacks the one asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proxy/message.h"

namespace remora::router {

struct RequestHash {
  std::optional<uint64_t> hash;  // none: no entry yielded a key
  std::string set_cookie;        // a Set-Cookie value for the response, when one was made up
};

// The first entry of `policies` that yields a key wins: a header, a cookie (with a ttl, made up
// when absent), the client's IP (from "ip:port"), or a query parameter.
RequestHash hashRequest(const std::vector<config::HashPolicy>& policies,
                        const RequestHeaders& request, std::string_view downstream_address);

// The value of query parameter `name` in a request target; `found` says whether it was there.
std::string_view queryValue(std::string_view target, std::string_view name, bool& found);

}  // namespace remora::router

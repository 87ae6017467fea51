// Request keys for consistent hashing: each source of a key, and the made-up cookie.
#include "filters/router/request_hash.h"

#include <cstdio>

#include "filters/router/split.h"
#include "proxy/lb/load_balancer.h"
#include "proxy/lb/stable_hash.h"
#include "proxy/request_decoration.h"

namespace remora::router {
namespace {

// 128 random bits as hex: a key nobody else has.
std::string newCookieValue() {
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(lbRandom()),
                static_cast<unsigned long long>(lbRandom()));
  return text;
}

}  // namespace

std::string_view queryValue(std::string_view target, std::string_view name, bool& found) {
  found = false;
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      found = true;
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

RequestHash hashRequest(const std::vector<config::HashPolicy>& policies,
                        const RequestHeaders& request, std::string_view downstream_address) {
  RequestHash out;
  for (const config::HashPolicy& policy : policies) {
    bool found = false;
    std::string_view key;
    switch (policy.kind) {
      case config::HashPolicy::Kind::Header:
        if (std::optional<std::string_view> value = request.headers.get(policy.name)) {
          key = *value;
          found = true;
        }
        break;
      case config::HashPolicy::Kind::Cookie:
        key = requestCookie(request, policy.name, found);
        if (!found && policy.cookie_ttl.count() > 0) {
          // The client gets the key to send next time: it stays on the same endpoint.
          const std::string value = newCookieValue();
          out.hash = stableHash(value);
          out.set_cookie = policy.name + "=" + value +
                           "; Max-Age=" + std::to_string(policy.cookie_ttl.count() / 1000) +
                           "; Path=/; HttpOnly";
          return out;
        }
        break;
      case config::HashPolicy::Kind::SourceIp:
        key = clientIpOf(downstream_address);
        found = !key.empty();
        break;
      case config::HashPolicy::Kind::Query:
        key = queryValue(request.path, policy.name, found);
        break;
    }
    if (found) {
      out.hash = stableHash(key);
      return out;
    }
  }
  return out;
}

}  // namespace remora::router

// The forwarding headers and the untrusted client's x-remora-* fields.
#include "proxy/request_decoration.h"

namespace remora {

void decorateForRouting(RequestHeaders& request, bool trusted, std::string_view client_ip) {
  HeaderMap& h = request.headers;
  if (!trusted) {
    // remora's own headers (x-remora-attempt, ...) steer remora: only trusted clients may send
    // them, or a client could switch off retries or fake an overload.
    h.removeIf([](const HeaderField& field) { return field.name.starts_with("x-remora-"); });
  }
  // add() copies into the map's recycled bytes: no allocation per request in the usual case.
  if (std::optional<std::string_view> xff = h.get("x-forwarded-for")) {
    // One scratch string per thread: a client behind a load balancer sends this on every request.
    thread_local std::string joined;
    joined.assign(*xff).append(", ").append(client_ip);
    h.set("x-forwarded-for", joined);
  } else {
    h.add("x-forwarded-for", client_ip);
  }
  // A trusted client (a load balancer that terminated TLS in front) says how the request first
  // arrived; anyone else's claim is replaced, or a plaintext client could pass for an HTTPS one.
  if (!trusted) h.remove("x-forwarded-proto");
  if (!h.has("x-forwarded-proto")) h.add("x-forwarded-proto", request.scheme);
}

std::string_view clientIpOf(std::string_view address) {
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    return close == std::string_view::npos ? address : address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  return colon == std::string_view::npos ? address : address.substr(0, colon);
}

}  // namespace remora

// What the stream changes in a request's headers before routing it, whichever codec brought it;
// shared with /explain so that a dry run matches the headers the routes see.
#pragma once

#include <string>
#include <string_view>

#include "proxy/message.h"

namespace remora {

// Drops x-remora-* fields unless the listener is `trusted`, appends `client_ip` to
// x-forwarded-for and adds x-forwarded-proto (the request's scheme) when missing.
void decorateForRouting(RequestHeaders& request, bool trusted, std::string_view client_ip);

// The IP of a client's "ip:port" or "[ip]:port" (StreamInfo::downstream_address).
std::string_view clientIpOf(std::string_view address);

}  // namespace remora

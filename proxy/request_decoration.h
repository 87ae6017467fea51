// What the stream changes in a request's headers before routing it, whichever codec brought it;
// shared with /explain so that a dry run matches the headers the routes see.
#pragma once

#include <string>

#include "proxy/message.h"

namespace remora {

// Drops x-remora-* fields unless the listener is `trusted`, appends `client_ip` to
// x-forwarded-for and adds x-forwarded-proto (the request's scheme) when missing.
void decorateForRouting(RequestHeaders& request, bool trusted, std::string client_ip);

}  // namespace remora

// `remora await`: blocks until a remora's admin /ready answers 200, for an app's entrypoint.
#pragma once

#include <chrono>
#include <string>

namespace remora {

// Polls http://<admin>/ready every 100 ms. 0 once it answers 200; 1 when `timeout` passes first
// (with the last answer or error on stderr); 2 for a bad admin address.
int awaitReady(const std::string& admin, std::chrono::milliseconds timeout);

}  // namespace remora

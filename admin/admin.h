// Admin: an admin HTTP listener: the full one (readiness, metrics, clusters, config dump, the
// web page, drain controls) or the read-only probe one (readiness, liveness, metrics).
#pragma once

#include <event2/http.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace remora {

class Server;

class Admin {
 public:
  // kFull: every path, the POST controls included; for loopback. kProbe: only what
  // admin::probeVerdict serves; for the pod's address (admin.probe_address).
  enum class Access { kFull, kProbe };

  Admin(event_base* base, Server& server, Access access);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Binds; `bound` is the "host:port" actually bound (port 0 picks one).
  bool listen(const config::Address& address, std::string& bound, std::string& error);

 private:
  static void onRequest(evhttp_request* request, void* self);
  void handle(evhttp_request* request);
  // The paths both listeners serve; false when `path` is not one of them.
  bool handleRead(evhttp_request* request, const std::string& path);
  // POST /canaries/<name>/<verb>: `rest` is "<name>/<verb>".
  void steerCanary(evhttp_request* request, std::string_view rest);

  Server& server_;
  Access access_;
  evhttp* http_;
};

}  // namespace remora

// Admin: the admin HTTP listener (readiness, metrics, clusters, config dump, drain controls).
#pragma once

#include <event2/http.h>

#include <string>

#include "config/config.h"

namespace remora {

class Server;

class Admin {
 public:
  Admin(event_base* base, Server& server);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Binds; `bound` is the "host:port" actually bound (port 0 picks one).
  bool listen(const config::Address& address, std::string& bound, std::string& error);

 private:
  static void onRequest(evhttp_request* request, void* self);
  void handle(evhttp_request* request);

  Server& server_;
  evhttp* http_;
};

}  // namespace remora

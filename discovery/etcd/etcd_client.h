// EtcdClient: calls to the etcd v3 JSON gateway, moving to the next endpoint when one fails and
// authenticating when a user is configured.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "discovery/http_client.h"

namespace remora::discovery::etcd {

class EtcdClient {
 public:
  EtcdClient(HttpClient& http, const config::EtcdRegistry& config);

  // POSTs `body` to `path` (e.g. "/v3/kv/range") on the current endpoint; a failed connection
  // or a 5xx moves to the next endpoint for the next call. `done` gets the response.
  std::unique_ptr<HttpCall> call(const std::string& path, std::string body,
                                 std::chrono::milliseconds timeout,
                                 std::function<void(HttpResponse)> done);
  // A long-lived call (a watch): the body arrives in pieces through `on_data`.
  std::unique_ptr<HttpCall> stream(const std::string& path, std::string body,
                                   std::function<void(std::string_view)> on_data,
                                   std::function<void(HttpResponse)> done);

  // After a failure seen by the caller (a broken stream), the next call tries another member.
  void rotate();
  // Drops the auth token, so the next call authenticates again (etcd refuses an expired one
  // inside an HTTP 200 watch stream, where send() cannot see it).
  void resetToken() { token_.clear(); }
  const std::string& endpoint() const { return config_.endpoints[current_]; }

 private:
  HttpRequest request(const std::string& path, std::string body) const;
  std::unique_ptr<HttpCall> send(HttpRequest request, std::function<void(HttpResponse)> done);

  HttpClient& http_;
  const config::EtcdRegistry config_;
  size_t current_ = 0;
  std::string token_;
};

}  // namespace remora::discovery::etcd

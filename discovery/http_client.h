// HttpClient: HTTP/1.1 requests from the main thread's loop, for registries and health checks.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remora::discovery {

// TLS towards a registry agent: the CA its certificate must chain to (empty: the system's), an
// optional client certificate, and the name checked (empty: the URL's host).
struct HttpTls {
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The whole exchange must be over within this (0: no limit, for streams that stay open).
  std::chrono::milliseconds timeout{10000};
  // For a request without `timeout`: the longest the peer may stay silent (0: a day).
  std::chrono::milliseconds idle_timeout{0};
  size_t max_body_bytes = 16 << 20;  // a larger response fails (not applied to streamed bodies)
  // When set, the body is handed over as it arrives instead of collected.
  std::function<void(std::string_view chunk)> on_body_data;
};

struct HttpResponse {
  int status = 0;     // 0 when the exchange failed; `error` says why
  std::string error;  // "connection refused", "timed out after 10000ms", ...
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(const std::string& lowercase_name) const;
};

// One request in flight. Destroying it cancels the request without calling back.
class HttpCall {
 public:
  virtual ~HttpCall() = default;
};

class CallGraveyard;

// Calls must not outlive their client.
class HttpClient {
 public:
  explicit HttpClient(event_base* base);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Loads the TLS settings used for https:// URLs; false with `error` when a file is bad.
  bool setTls(const HttpTls& tls, std::string& error);

  // Starts a request on a connection of its own. `done` runs exactly once, on the loop, unless
  // the returned call is destroyed first; it may destroy the call.
  std::unique_ptr<HttpCall> fetch(HttpRequest request, std::function<void(HttpResponse)> done);

  event_base* base() const { return base_; }

 private:
  event_base* base_;
  // Host names are resolved without blocking the loop (and /etc/hosts applies).
  evdns_base* dns_;
  std::unique_ptr<CallGraveyard> graveyard_;
  SSL_CTX* tls_ = nullptr;
  std::string tls_server_name_;
};

}  // namespace remora::discovery

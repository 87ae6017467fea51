// etcd gateway calls: endpoint rotation on failure and the auth token.
#include "discovery/etcd/etcd_client.h"

#include <nlohmann/json.hpp>

namespace remora::discovery::etcd {

// Holds whichever call is in flight: the authentication, then the request it unlocks.
struct ChainedCall : HttpCall {
  std::unique_ptr<HttpCall> inner;
};

EtcdClient::EtcdClient(HttpClient& http, const config::EtcdRegistry& config)
    : http_(http), config_(config) {}

void EtcdClient::rotate() { current_ = (current_ + 1) % config_.endpoints.size(); }

HttpRequest EtcdClient::request(const std::string& path, std::string body) const {
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint() + path;
  request.headers.emplace_back("Content-Type", "application/json");
  if (!token_.empty()) request.headers.emplace_back("Authorization", token_);
  request.body = std::move(body);
  return request;
}

std::unique_ptr<HttpCall> EtcdClient::call(const std::string& path, std::string body,
                                           std::chrono::milliseconds timeout,
                                           std::function<void(HttpResponse)> done) {
  HttpRequest r = request(path, std::move(body));
  r.timeout = timeout;
  return send(std::move(r), std::move(done));
}

std::unique_ptr<HttpCall> EtcdClient::stream(const std::string& path, std::string body,
                                             std::function<void(std::string_view)> on_data,
                                             std::function<void(HttpResponse)> done) {
  HttpRequest r = request(path, std::move(body));
  r.timeout = std::chrono::milliseconds(0);
  // The watch asks for progress notifications (every 10 minutes by default): a member silent
  // longer than that is gone without a word (a partition), and the watch moves on.
  r.idle_timeout = std::chrono::minutes(11);
  r.on_body_data = std::move(on_data);
  return send(std::move(r), std::move(done));
}

// Wraps the exchange: a user without a token authenticates first; a failed member is left for
// the next; a rejected token is dropped so the next call authenticates again.
std::unique_ptr<HttpCall> EtcdClient::send(HttpRequest request,
                                           std::function<void(HttpResponse)> done) {
  auto finish = [this, done = std::move(done)](HttpResponse response) {
    if (response.status == 0 || response.status >= 500) rotate();
    if (response.status == 401) token_.clear();
    done(std::move(response));
  };
  if (config_.username.empty() || !token_.empty()) {
    return http_.fetch(std::move(request), std::move(finish));
  }
  // Authentication first, then the request, both inside one call the caller can cancel.
  HttpRequest auth =
      this->request("/v3/auth/authenticate",
                    nlohmann::json{{"name", config_.username}, {"password", config_.password}}.dump(
                        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  auth.timeout = std::chrono::milliseconds(5000);
  auto chained = std::make_unique<ChainedCall>();
  ChainedCall* raw = chained.get();
  chained->inner =
      http_.fetch(std::move(auth), [this, raw, request = std::move(request),
                                    finish = std::move(finish)](HttpResponse response) mutable {
        auto reply = nlohmann::json::parse(response.body, nullptr, false);
        if (response.status != 200 || !reply.is_object() || !reply.contains("token") ||
            !reply["token"].is_string()) {
          HttpResponse failed;
          failed.error = !response.error.empty()
                             ? response.error
                             : "authentication failed: HTTP " + std::to_string(response.status);
          return finish(std::move(failed));
        }
        token_ = reply["token"].get<std::string>();
        request.headers.emplace_back("Authorization", token_);
        // Replaces (and so frees) the finished authentication call: its callback is this one,
        // so the rest of it must not touch its captures afterwards.
        auto next = http_.fetch(std::move(request), std::move(finish));
        raw->inner = std::move(next);
      });
  return chained;
}

}  // namespace remora::discovery::etcd

// One read or write of a config source's key, in Consul's KV store or etcd's.
#include "discovery/config_source/key_store.h"

#include <event2/event.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "discovery/consul/consul_json.h"
#include "discovery/etcd/etcd_client.h"
#include "discovery/etcd/etcd_json.h"
#include "discovery/http_client.h"
#include "discovery/provider_factory.h"

namespace remora::discovery::config_source {
namespace {

constexpr std::chrono::milliseconds kTimeout{10000};

// A loop and a client of their own, run until one exchange is over.
class OneCall {
 public:
  explicit OneCall(const config::Registry& registry)
      : base_(event_base_new()), http_(std::make_unique<HttpClient>(base_)) {
    prepareTls(registry, *http_);
  }
  ~OneCall() {
    http_.reset();
    event_base_free(base_);
  }
  OneCall(const OneCall&) = delete;
  OneCall& operator=(const OneCall&) = delete;

  HttpClient& http() { return *http_; }
  // Runs the loop until `call` has answered (the client's own timeout bounds it).
  HttpResponse wait(std::unique_ptr<HttpCall>& call, bool& done, HttpResponse& response) {
    while (!done && call != nullptr) event_base_loop(base_, EVLOOP_ONCE);
    return response;
  }

 private:
  event_base* base_;
  std::unique_ptr<HttpClient> http_;
};

HttpResponse consulCall(const config::ConsulRegistry& consul, const std::string& method,
                        const std::string& key, std::string body, OneCall& one) {
  std::string base = consul.address;
  while (base.ends_with('/')) base.pop_back();
  HttpRequest request;
  request.method = method;
  request.url = base + "/v1/kv/" + consul::kvPath(key) + (method == "GET" ? "?raw" : "");
  if (!consul.datacenter.empty()) {
    request.url +=
        std::string(method == "GET" ? "&" : "?") + "dc=" + consul::urlEscape(consul.datacenter);
  }
  const std::string token = consul::resolveToken(consul);
  if (!token.empty()) request.headers.emplace_back("X-Consul-Token", token);
  request.body = std::move(body);
  request.timeout = kTimeout;
  bool done = false;
  HttpResponse response;
  std::unique_ptr<HttpCall> call = one.http().fetch(std::move(request), [&](HttpResponse r) {
    response = std::move(r);
    done = true;
  });
  return one.wait(call, done, response);
}

HttpResponse etcdCall(const config::EtcdRegistry& etcd, const std::string& path,
                      const nlohmann::json& body, OneCall& one) {
  etcd::EtcdClient client(one.http(), etcd);
  bool done = false;
  HttpResponse response;
  std::unique_ptr<HttpCall> call = client.call(path, body.dump(), kTimeout, [&](HttpResponse r) {
    response = std::move(r);
    done = true;
  });
  return one.wait(call, done, response);
}

std::string failure(const HttpResponse& response) {
  return response.status == 0
             ? response.error
             : "HTTP " + std::to_string(response.status) + " " + response.body.substr(0, 200);
}

}  // namespace

std::optional<std::string> readKey(const config::Registry& registry,
                                   const config::ConfigSource& source, std::string& error) {
  OneCall one(registry);
  if (source.store == config::ConfigSource::Store::Consul && registry.consul) {
    HttpResponse response = consulCall(*registry.consul, "GET", source.key, "", one);
    if (response.status == 200) return response.body;
    error = response.status == 404 ? source.name() + " does not exist" : failure(response);
    return std::nullopt;
  }
  if (source.store == config::ConfigSource::Store::Etcd && registry.etcd) {
    HttpResponse response =
        etcdCall(*registry.etcd, "/v3/kv/range", {{"key", base64Encode(source.key)}}, one);
    if (response.status != 200) {
      error = failure(response);
      return std::nullopt;
    }
    auto reply = etcd::parseRangeReply(response.body, error);
    if (!reply) return std::nullopt;
    if (reply->kvs.empty()) {
      error = source.name() + " does not exist";
      return std::nullopt;
    }
    return std::move(reply->kvs.front().value);
  }
  error = "no registry for " + source.name();
  return std::nullopt;
}

bool writeKey(const config::Registry& registry, const config::ConfigSource& source,
              const std::string& value, std::string& error) {
  OneCall one(registry);
  HttpResponse response;
  if (source.store == config::ConfigSource::Store::Consul && registry.consul) {
    response = consulCall(*registry.consul, "PUT", source.key, value, one);
  } else if (source.store == config::ConfigSource::Store::Etcd && registry.etcd) {
    response = etcdCall(*registry.etcd, "/v3/kv/put",
                        {{"key", base64Encode(source.key)}, {"value", base64Encode(value)}}, one);
  } else {
    error = "no registry for " + source.name();
    return false;
  }
  if (response.status == 200) return true;
  error = failure(response);
  return false;
}

}  // namespace remora::discovery::config_source

// The main thread's HTTP/1.1 client on libevent's evhttp, one connection per request.
#include "discovery/http_client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace remora::discovery {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000) * 1000};
}

std::string describeError(evhttp_request_error error) {
  switch (error) {
    case EVREQ_HTTP_TIMEOUT:
      return "timed out";
    case EVREQ_HTTP_EOF:
      return "connection closed before the response was complete";
    case EVREQ_HTTP_INVALID_HEADER:
      return "invalid response header";
    case EVREQ_HTTP_BUFFER_ERROR:
      return "connection failed";
    case EVREQ_HTTP_REQUEST_CANCEL:
      return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
      return "response too large";
  }
  return "request failed";
}

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

std::string HttpResponse::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

// What libevent's callbacks point at. It outlives the call object: libevent may still call back
// after the call is destroyed, until the connection is freed on a later turn of the loop (it
// cannot be freed from inside its own callbacks).
struct CallState {
  class EvhttpCall* owner = nullptr;
  evhttp_connection* connection = nullptr;
  evhttp_request_error error = EVREQ_HTTP_BUFFER_ERROR;
  bool failed = false;
  std::string tls_error;  // why the TLS handshake failed, when it did
};

// Frees retired connections on a later turn of the loop, and whatever is left when the client
// goes.
class CallGraveyard {
 public:
  explicit CallGraveyard(event_base* base)
      : reaper_(event_new(base, -1, 0, &CallGraveyard::onReap, this)) {}
  ~CallGraveyard() {
    event_free(reaper_);
    reap();
  }

  void retire(CallState* state) {
    retired_.push_back(state);
    event_active(reaper_, EV_TIMEOUT, 0);
  }

 private:
  static void onReap(evutil_socket_t, short, void* arg) {
    static_cast<CallGraveyard*>(arg)->reap();
  }
  void reap() {
    std::vector<CallState*> retired = std::move(retired_);
    retired_.clear();
    for (CallState* state : retired) {
      if (state->connection != nullptr) evhttp_connection_free(state->connection);
      delete state;
    }
  }

  event* reaper_;
  std::vector<CallState*> retired_;
};

class EvhttpCall : public HttpCall {
 public:
  EvhttpCall(event_base* base, CallGraveyard& graveyard, HttpRequest request,
             std::function<void(HttpResponse)> done)
      : base_(base), graveyard_(graveyard), request_(std::move(request)), done_(std::move(done)) {}

  ~EvhttpCall() override {
    if (state_ != nullptr) detach();
    if (deadline_ != nullptr) event_free(deadline_);
    if (setup_failure_ != nullptr) event_free(setup_failure_);
  }

  // Sends the request. Whatever happens, `done` runs on a later turn of the loop, never inside
  // this call: libevent may fail a request (a name that does not resolve) before
  // evhttp_make_request returns, and callers store the call only once fetch() returns it.
  void start(evdns_base* dns, SSL_CTX* tls, const std::string& tls_server_name);

 private:
  static void onDone(evhttp_request* request, void* arg);
  static void onError(evhttp_request_error error, void* arg);
  static void onChunk(evhttp_request* request, void* arg);
  static void onDeadline(evutil_socket_t, short, void* arg);
  static void onSetupFailed(evutil_socket_t, short, void* arg);

  void finish(HttpResponse response);
  void detach();
  void failSoon(std::string error);
  // Reports `response` on the next turn of the loop.
  void finishSoon(HttpResponse response);

  event_base* base_;
  CallGraveyard& graveyard_;
  HttpRequest request_;
  std::function<void(HttpResponse)> done_;
  CallState* state_ = nullptr;
  event* deadline_ = nullptr;
  event* setup_failure_ = nullptr;
  HttpResponse deferred_;
  bool starting_ = false;
};

void EvhttpCall::start(evdns_base* dns, SSL_CTX* tls, const std::string& tls_server_name) {
  evhttp_uri* uri = evhttp_uri_parse(request_.url.c_str());
  if (uri == nullptr) return failSoon("bad URL '" + request_.url + "'");
  const char* scheme = evhttp_uri_get_scheme(uri);
  const char* host = evhttp_uri_get_host(uri);
  const bool https = scheme != nullptr && std::string_view(scheme) == "https";
  if (host == nullptr || scheme == nullptr || (!https && std::string_view(scheme) != "http")) {
    evhttp_uri_free(uri);
    return failSoon("bad URL '" + request_.url + "' (http://host:port/path or https://...)");
  }
  int port = evhttp_uri_get_port(uri);
  if (port < 0) port = https ? 443 : 80;
  std::string target = evhttp_uri_get_path(uri) != nullptr && *evhttp_uri_get_path(uri) != 0
                           ? evhttp_uri_get_path(uri)
                           : "/";
  if (const char* query = evhttp_uri_get_query(uri)) target += std::string("?") + query;
  const std::string host_name = host;
  evhttp_uri_free(uri);

  state_ = new CallState;
  state_->owner = this;
  if (https) {
    if (tls == nullptr) return failSoon("https needs TLS settings");
    SSL* ssl = SSL_new(tls);
    const std::string& name = tls_server_name.empty() ? host_name : tls_server_name;
    in6_addr literal;
    const bool ip = inet_pton(AF_INET, name.c_str(), &literal) == 1 ||
                    inet_pton(AF_INET6, name.c_str(), &literal) == 1;
    if (ip) {
      // An address is checked against the certificate's IP SANs, and is no SNI name.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      SSL_set1_host(ssl, name.c_str());
    }
    bufferevent* bev =
        bufferevent_openssl_socket_new(base_, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    state_->connection =
        evhttp_connection_base_bufferevent_new(base_, dns, bev, host_name.c_str(), port);
  } else {
    state_->connection = evhttp_connection_base_new(base_, dns, host_name.c_str(), port);
  }
  if (state_->connection == nullptr) return failSoon("cannot create a connection");
  // Registry streams stay open for minutes: they are bounded by their idle timeout, a day
  // when none is given.
  const auto io_timeout = request_.timeout.count() > 0 ? request_.timeout
                          : request_.idle_timeout.count() > 0
                              ? request_.idle_timeout
                              : std::chrono::milliseconds(86'400'000);
  const timeval io = toTimeval(io_timeout);
  evhttp_connection_set_timeout_tv(state_->connection, &io);
  if (!request_.on_body_data) {
    evhttp_connection_set_max_body_size(state_->connection,
                                        static_cast<ev_ssize_t>(request_.max_body_bytes));
  }

  evhttp_request* request = evhttp_request_new(&EvhttpCall::onDone, state_);
  evhttp_request_set_error_cb(request, &EvhttpCall::onError);
  if (request_.on_body_data) evhttp_request_set_chunked_cb(request, &EvhttpCall::onChunk);
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  const std::string host_header = host_name.find(':') != std::string::npos
                                      ? "[" + host_name + "]:" + std::to_string(port)
                                      : host_name + ":" + std::to_string(port);
  evhttp_add_header(headers, "Host", host_header.c_str());
  for (const auto& [name, value] : request_.headers) {
    evhttp_add_header(headers, name.c_str(), value.c_str());
  }
  if (!request_.body.empty()) {
    evbuffer_add(evhttp_request_get_output_buffer(request), request_.body.data(),
                 request_.body.size());
    evhttp_add_header(headers, "Content-Length", std::to_string(request_.body.size()).c_str());
  }
  static const std::vector<std::pair<std::string, evhttp_cmd_type>> kMethods = {
      {"GET", EVHTTP_REQ_GET},
      {"POST", EVHTTP_REQ_POST},
      {"PUT", EVHTTP_REQ_PUT},
      {"DELETE", EVHTTP_REQ_DELETE},
      {"HEAD", EVHTTP_REQ_HEAD}};
  auto method = std::find_if(kMethods.begin(), kMethods.end(),
                             [&](const auto& m) { return m.first == request_.method; });
  if (method == kMethods.end()) {
    evhttp_request_free(request);
    return failSoon("unsupported method " + request_.method);
  }
  starting_ = true;
  const int sent = evhttp_make_request(state_->connection, request, method->second, target.c_str());
  starting_ = false;
  if (state_ == nullptr) return;  // already failed inside; finishSoon reports it
  if (sent != 0) return failSoon("cannot send the request");
  if (request_.timeout.count() > 0) {
    deadline_ = evtimer_new(base_, &EvhttpCall::onDeadline, this);
    const timeval total = toTimeval(request_.timeout);
    evtimer_add(deadline_, &total);
  }
}

void EvhttpCall::failSoon(std::string error) {
  HttpResponse response;
  response.error = std::move(error);
  finishSoon(std::move(response));
}

void EvhttpCall::finishSoon(HttpResponse response) {
  deferred_ = std::move(response);
  if (setup_failure_ == nullptr) {
    setup_failure_ = evtimer_new(base_, &EvhttpCall::onSetupFailed, this);
  }
  const timeval now = {0, 0};
  evtimer_add(setup_failure_, &now);
}

void EvhttpCall::onSetupFailed(evutil_socket_t, short, void* arg) {
  auto* call = static_cast<EvhttpCall*>(arg);
  call->finish(std::move(call->deferred_));
}

void EvhttpCall::onError(evhttp_request_error error, void* arg) {
  auto* state = static_cast<CallState*>(arg);
  state->failed = true;
  state->error = error;
  // Fix: a failed TLS handshake (a certificate that does not verify, a name that does not match)
  // reached the caller as "connection closed before the response was complete"; OpenSSL's
  // reason is read here, while the connection still holds it.
  bufferevent* bev =
      state->connection != nullptr ? evhttp_connection_get_bufferevent(state->connection) : nullptr;
  SSL* ssl = bev != nullptr ? bufferevent_openssl_get_ssl(bev) : nullptr;
  if (ssl == nullptr) return;
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    state->tls_error = std::string("TLS: ") + X509_verify_cert_error_string(verify);
  } else if (const unsigned long code = bufferevent_get_openssl_error(bev); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    state->tls_error = std::string("TLS: ") + text;
  }
}

void EvhttpCall::onChunk(evhttp_request* request, void* arg) {
  auto* state = static_cast<CallState*>(arg);
  if (state->owner == nullptr) return;
  evbuffer* input = evhttp_request_get_input_buffer(request);
  const size_t length = evbuffer_get_length(input);
  if (length == 0) return;
  std::string chunk(length, '\0');
  evbuffer_copyout(input, chunk.data(), length);
  state->owner->request_.on_body_data(chunk);
}

void EvhttpCall::onDone(evhttp_request* request, void* arg) {
  auto* state = static_cast<CallState*>(arg);
  EvhttpCall* call = state->owner;
  if (call == nullptr) return;
  HttpResponse response;
  if (request == nullptr || evhttp_request_get_response_code(request) == 0) {
    response.error = state->failed ? describeError(state->error) : "connection failed";
    if (request == nullptr && !state->failed) response.error = "connection refused or reset";
    if (!state->tls_error.empty()) response.error = state->tls_error;
    return call->finish(std::move(response));
  }
  response.status = evhttp_request_get_response_code(request);
  const evkeyvalq* headers = evhttp_request_get_input_headers(request);
  for (const evkeyval* h = headers->tqh_first; h != nullptr; h = h->next.tqe_next) {
    response.headers[lower(h->key)] = h->value;
  }
  if (!call->request_.on_body_data) {
    evbuffer* input = evhttp_request_get_input_buffer(request);
    response.body.resize(evbuffer_get_length(input));
    evbuffer_copyout(input, response.body.data(), response.body.size());
  }
  call->finish(std::move(response));
}

void EvhttpCall::onDeadline(evutil_socket_t, short, void* arg) {
  auto* call = static_cast<EvhttpCall*>(arg);
  HttpResponse response;
  response.error = "timed out after " + std::to_string(call->request_.timeout.count()) + "ms";
  call->finish(std::move(response));
}

void EvhttpCall::finish(HttpResponse response) {
  if (state_ != nullptr) detach();
  if (starting_) return finishSoon(std::move(response));
  if (setup_failure_ != nullptr) {
    event_free(setup_failure_);
    setup_failure_ = nullptr;
  }
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(response));  // may destroy this call
}

void EvhttpCall::detach() {
  if (deadline_ != nullptr) {
    event_free(deadline_);
    deadline_ = nullptr;
  }
  state_->owner = nullptr;
  graveyard_.retire(state_);
  state_ = nullptr;
}

namespace {
evdns_base* makeResolver(event_base* base) {
  // Without /etc/resolv.conf, numeric addresses still work; names then fail per request.
  evdns_base* dns =
      evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  return dns != nullptr ? dns : evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
}
}  // namespace

HttpClient::HttpClient(event_base* base)
    : base_(base), dns_(makeResolver(base)), graveyard_(std::make_unique<CallGraveyard>(base)) {}

HttpClient::~HttpClient() {
  graveyard_.reset();  // the connections first: they may hold lookups of the resolver
  evdns_base_free(dns_, 0);
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

bool HttpClient::setTls(const HttpTls& tls, std::string& error) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  const bool ca_loaded = tls.ca.empty()
                             ? SSL_CTX_set_default_verify_paths(context) == 1
                             : SSL_CTX_load_verify_locations(context, tls.ca.c_str(), nullptr) == 1;
  if (!ca_loaded) {
    error = "CA '" + tls.ca + "': " + opensslError();
    SSL_CTX_free(context);
    return false;
  }
  if (!tls.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context, tls.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, tls.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(context) != 1) {
      error = "client certificate '" + tls.cert + "': " + opensslError();
      SSL_CTX_free(context);
      return false;
    }
  }
  if (tls_ != nullptr) SSL_CTX_free(tls_);
  tls_ = context;
  tls_server_name_ = tls.server_name;
  return true;
}

std::unique_ptr<HttpCall> HttpClient::fetch(HttpRequest request,
                                            std::function<void(HttpResponse)> done) {
  auto call = std::make_unique<EvhttpCall>(base_, *graveyard_, std::move(request), std::move(done));
  call->start(dns_, tls_, tls_server_name_);
  return call;
}

}  // namespace remora::discovery

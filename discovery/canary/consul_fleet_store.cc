// The fleet's canary records in Consul: the session, counts and leadership by ?acquire, the
// recursive read, the session-checked state write, under remora/canaries/ in the KV store.
#include "discovery/canary/consul_fleet_store.h"

#include <nlohmann/json.hpp>

#include "discovery/base64.h"
#include "discovery/consul/consul_json.h"
#include "proxy/log.h"

namespace remora::canary {
namespace {

using json = nlohmann::json;
using discovery::HttpCall;
using discovery::HttpResponse;
using discovery::consul::describeFailure;
using discovery::consul::urlEscape;

constexpr char kRoot[] = "remora/canaries/";
constexpr std::chrono::milliseconds kCallTimeout{3000};
// Consul's shortest session TTL. It invalidates a session between one and two TTLs after its
// last renewal: a dead leader's run passes to another within about 20s.
constexpr std::chrono::seconds kSessionTtl{10};

// Holds whichever exchange of a sequence is in flight.
struct ChainedCall : HttpCall {
  std::unique_ptr<HttpCall> step;
};

// The entries of a ?recurse read: key -> (value, the session locking it).
struct Entry {
  std::string value;
  std::string session;
};

std::optional<std::map<std::string, Entry>> parseEntries(const std::string& body,
                                                         std::string& error) {
  const json entries = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!entries.is_array()) {
    error = "a KV reply that is not a list";
    return std::nullopt;
  }
  std::map<std::string, Entry> out;
  for (const json& item : entries) {
    if (!item.is_object() || !item.contains("Key") || !item["Key"].is_string()) {
      error = "a KV entry without a key";
      return std::nullopt;
    }
    Entry entry;
    if (auto value = item.find("Value"); value != item.end() && value->is_string()) {
      auto decoded = discovery::base64Decode(value->get<std::string>());
      if (!decoded) {
        error = "a KV value that is not base64";
        return std::nullopt;
      }
      entry.value = std::move(*decoded);
    }
    if (auto session = item.find("Session"); session != item.end() && session->is_string()) {
      entry.session = session->get<std::string>();
    }
    out[item["Key"].get<std::string>()] = std::move(entry);
  }
  return out;
}

FleetView viewOf(const std::map<std::string, Entry>& entries, const std::string& prefix,
                 const std::string& session) {
  FleetView view;
  for (const auto& [key, entry] : entries) {
    if (!key.starts_with(prefix)) continue;
    const std::string_view leaf = std::string_view(key).substr(prefix.size());
    if (leaf == "leader") {
      // A leader key whose session is gone is deleted with it; one unlocked is nobody's.
      if (entry.session.empty()) continue;
      view.leader = entry.value;
      view.leading = !session.empty() && entry.session == session;
    } else if (leaf == "state") {
      view.state = entry.value;
    } else if (leaf.starts_with("counts/")) {
      view.counts[std::string(leaf.substr(7))] = entry.value;
    } else if (leaf.starts_with("requests/")) {
      view.requests[std::string(leaf.substr(9))] = entry.value;
    }
  }
  return view;
}

}  // namespace

ConsulFleetStore::ConsulFleetStore(discovery::HttpClient& http,
                                   const config::ConsulRegistry& config, std::string self)
    : http_(http),
      config_(config),
      token_(discovery::consul::resolveToken(config)),
      self_(std::move(self)),
      timer_(evtimer_new(http.base(), &ConsulFleetStore::onTimer, this)) {}

ConsulFleetStore::~ConsulFleetStore() {
  session_call_.reset();
  event_free(timer_);
}

std::string ConsulFleetStore::prefix(const FleetRun& run) const {
  return std::string(kRoot) + run.name + "/" + run.fingerprint + "/";
}

std::string ConsulFleetStore::kvPath(const std::string& key) {
  std::string path = "/v1/kv";
  for (size_t start = 0;;) {
    const size_t slash = key.find('/', start);
    // Appended piece by piece: GCC 12's -Wrestrict misreads `"/" + std::string&&` at -O3.
    path += '/';
    path += urlEscape(key.substr(start, slash - start));
    if (slash == std::string::npos) return path;
    start = slash + 1;
  }
}

discovery::HttpRequest ConsulFleetStore::call(const char* method, const std::string& path,
                                              std::string query, std::string body) const {
  std::string base = config_.address;
  while (base.ends_with('/')) base.pop_back();
  if (!config_.datacenter.empty()) {
    query += (query.empty() ? "" : "&") + ("dc=" + urlEscape(config_.datacenter));
  }
  discovery::HttpRequest request;
  request.method = method;
  request.url = base + path + (query.empty() ? "" : "?" + query);
  request.body = std::move(body);
  request.timeout = kCallTimeout;
  if (!token_.empty()) request.headers.emplace_back("X-Consul-Token", token_);
  return request;
}

void ConsulFleetStore::createSession() {
  const json body = {{"Name", "remora canaries " + self_},
                     {"TTL", std::to_string(kSessionTtl.count()) + "s"},
                     {"Behavior", "delete"},
                     // A dead leader's key is deleted with its session; waiting Consul's default
                     // 15s more before another may take it would only stall the run. The state
                     // write checks the session, so a leader that lost it cannot write anyway.
                     {"LockDelay", "0s"}};
  session_call_ = http_.fetch(
      call("PUT", "/v1/session/create", "", body.dump()), [this](HttpResponse response) {
        session_call_.reset();
        if (response.status != 200) {
          return sessionFailed("session create: " + describeFailure(response));
        }
        const json reply = json::parse(response.body, nullptr, false);
        if (!reply.is_object() || !reply.contains("ID") || !reply["ID"].is_string()) {
          return sessionFailed("session create: no ID in the reply");
        }
        session_ = reply["ID"].get<std::string>();
        backoff_.reset();
        LOG_INFO("canary fleet: consul session %s for %s", session_.c_str(), self_.c_str());
        schedule(std::chrono::milliseconds(kSessionTtl) / 3);
      });
}

void ConsulFleetStore::onTimer(evutil_socket_t, short, void* self) {
  auto* store = static_cast<ConsulFleetStore*>(self);
  if (store->session_.empty()) return store->createSession();
  store->session_call_ = store->http_.fetch(
      store->call("PUT", "/v1/session/renew/" + store->session_, "", ""),
      [store](HttpResponse response) {
        store->session_call_.reset();
        if (response.status == 404) {
          // Invalidated (Consul was away longer than the TTL): its keys went with it. A new
          // session publishes again and campaigns again.
          LOG_WARN("canary fleet: consul session %s is gone; creating a new one",
                   store->session_.c_str());
          store->session_.clear();
          return store->createSession();
        }
        if (response.status != 200) {
          return store->sessionFailed("session renew: " + describeFailure(response));
        }
        store->schedule(std::chrono::milliseconds(kSessionTtl) / 3);
      });
}

void ConsulFleetStore::resign() {
  resigned_ = true;
  evtimer_del(timer_);
  session_call_.reset();
  if (session_.empty()) return;
  // Destroying the session deletes every key it locks (behavior delete): the counts, the
  // requests and `leader`.
  const std::string session = std::move(session_);
  session_.clear();
  session_call_ = http_.fetch(
      call("PUT", "/v1/session/destroy/" + session, "", ""), [this](HttpResponse response) {
        session_call_.reset();
        if (response.status == 200) {
          LOG_INFO("canary fleet: consul session of %s destroyed; the others go on", self_.c_str());
        } else {
          LOG_WARN(
              "canary fleet: destroying the consul session of %s failed (%s); it expires on "
              "its own",
              self_.c_str(), describeFailure(response).c_str());
        }
      });
}

void ConsulFleetStore::sessionFailed(const std::string& error) {
  const auto wait = backoff_.next();
  LOG_WARN("canary fleet (consul): %s; retrying in %lldms", error.c_str(),
           static_cast<long long>(wait.count()));
  schedule(wait);
}

void ConsulFleetStore::schedule(std::chrono::milliseconds wait) {
  const timeval tv = {static_cast<time_t>(wait.count() / 1000),
                      static_cast<suseconds_t>(wait.count() % 1000) * 1000};
  evtimer_add(timer_, &tv);
}

std::unique_ptr<HttpCall> ConsulFleetStore::sync(
    const FleetRun& run, std::optional<std::string> counts,
    std::function<void(std::optional<FleetView>, std::string error)> done) {
  // The session is asked for when a canary first needs it, not by every remora with a registry.
  if (!session_wanted_ && !resigned_) {
    session_wanted_ = true;
    createSession();
  }
  const std::string base = prefix(run);
  auto chain = std::make_unique<ChainedCall>();
  ChainedCall* raw = chain.get();
  const std::string session = session_;
  auto read = [this, raw, base, session, done](std::string failure) {
    if (!failure.empty()) return done(std::nullopt, failure);
    raw->step = http_.fetch(call("GET", kvPath(base), "recurse", ""),
                            [base, session, done](HttpResponse response) {
                              // 404: no record yet.
                              if (response.status == 404) return done(FleetView{}, "");
                              if (response.status != 200) {
                                return done(std::nullopt, "read: " + describeFailure(response));
                              }
                              std::string error;
                              auto entries = parseEntries(response.body, error);
                              if (!entries) return done(std::nullopt, "read: " + error);
                              done(viewOf(*entries, base, session), "");
                            });
  };
  if (session.empty()) {
    read("");
    return chain;
  }
  // The leadership is the `leader` key's lock: whoever acquires it holds it until its session
  // ends. Answered true also to the session that holds it already.
  auto campaign = [this, raw, base, session, read](std::string failure) {
    if (!failure.empty()) return read(failure);
    raw->step = http_.fetch(
        call("PUT", kvPath(base + "leader"), "acquire=" + session, self_),
        [read](HttpResponse response) {
          read(response.status == 200 ? "" : "leader acquire: " + describeFailure(response));
        });
  };
  if (!counts) {
    campaign("");
    return chain;
  }
  raw->step =
      http_.fetch(call("PUT", "/v1/kv/" + base + "counts/" + urlEscape(self_), "acquire=" + session,
                       std::move(*counts)),
                  [campaign](HttpResponse response) {
                    campaign(response.status == 200 ? "" : "counts: " + describeFailure(response));
                  });
  return chain;
}

std::unique_ptr<HttpCall> ConsulFleetStore::writeState(
    const FleetRun& run, std::string state,
    std::function<void(bool written, std::string error)> done) {
  if (session_.empty()) {
    return answerSoon(http_.base(), [done = std::move(done)] { done(false, ""); });
  }
  const std::string base = prefix(run);
  // One transaction: the state is set only while this session still locks the leader key.
  const json ops = json::array(
      {{{"KV", {{"Verb", "check-session"}, {"Key", base + "leader"}, {"Session", session_}}}},
       {{"KV",
         {{"Verb", "set"}, {"Key", base + "state"}, {"Value", discovery::base64Encode(state)}}}}});
  return http_.fetch(call("PUT", "/v1/txn", "", ops.dump()),
                     [done = std::move(done)](HttpResponse response) {
                       if (response.status == 200) return done(true, "");
                       // 409: a check failed, the transaction was rolled back.
                       if (response.status == 409) return done(false, "");
                       done(false, "state: " + describeFailure(response));
                     });
}

std::unique_ptr<HttpCall> ConsulFleetStore::readState(
    const FleetRun& run,
    std::function<void(bool ok, std::optional<std::string> state, std::string error)> done) {
  const std::string key = prefix(run) + "state";
  return http_.fetch(call("GET", kvPath(key), "", ""),
                     [key, done = std::move(done)](HttpResponse response) {
                       if (response.status == 404) return done(true, std::nullopt, "");
                       if (response.status != 200) {
                         return done(false, std::nullopt, describeFailure(response));
                       }
                       std::string error;
                       auto entries = parseEntries(response.body, error);
                       if (!entries) return done(false, std::nullopt, error);
                       auto it = entries->find(key);
                       if (it == entries->end()) return done(true, std::nullopt, "");
                       done(true, it->second.value, "");
                     });
}

std::unique_ptr<HttpCall> ConsulFleetStore::request(
    const FleetRun& run, std::string request,
    std::function<void(bool ok, std::string error)> done) {
  if (session_.empty()) {
    return answerSoon(http_.base(),
                      [done = std::move(done)] { done(false, "no consul session yet"); });
  }
  return http_.fetch(call("PUT", kvPath(prefix(run) + "requests/" + self_), "acquire=" + session_,
                          std::move(request)),
                     [done = std::move(done)](HttpResponse response) {
                       if (response.status != 200) return done(false, describeFailure(response));
                       done(true, "");
                     });
}

}  // namespace remora::canary

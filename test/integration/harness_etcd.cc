// Etcd: starting members with their cluster list, etcdctl calls, leader lookup, kill/restart.
#include <signal.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "integration/harness/etcd.h"
#include "integration/harness/http.h"
#include "integration/harness/socket.h"

namespace remora::harness {

Etcd::Etcd(size_t members, std::optional<EtcdTls> tls) : tls_(std::move(tls)) {
  members_.resize(members);
  for (size_t i = 0; i < members; ++i) {
    members_[i].name = "m" + std::to_string(i);
    members_[i].client_port = freePort();
    members_[i].peer_port = freePort();
    initial_cluster_ += (i == 0 ? "" : ",") + members_[i].name +
                        "=http://127.0.0.1:" + std::to_string(members_[i].peer_port);
  }
  for (size_t i = 0; i < members; ++i) startMember(i, "new");
  if (!waitHealthy(deadlineIn(std::chrono::seconds(20)))) {
    throw std::runtime_error("etcd did not become healthy:\n" + logs());
  }
}

Etcd::~Etcd() = default;  // each Process kills its member

void Etcd::startMember(size_t i, const std::string& state) {
  Member& m = members_[i];
  const std::string client = clientUrl(i);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  const std::string data = dir_.file(m.name + "-" + std::to_string(generation_) + ".data").string();
  std::vector<std::string> argv{"etcd",
                                "--name",
                                m.name,
                                "--data-dir",
                                data,
                                "--listen-client-urls",
                                client,
                                "--advertise-client-urls",
                                client,
                                "--listen-peer-urls",
                                peer,
                                "--initial-advertise-peer-urls",
                                peer,
                                "--initial-cluster",
                                members_.size() == 1 ? m.name + "=" + peer : initial_cluster_,
                                "--initial-cluster-state",
                                state,
                                "--initial-cluster-token",
                                "remora-test",
                                "--heartbeat-interval",
                                "50",
                                "--election-timeout",
                                "500",
                                "--logger",
                                "zap",
                                "--log-level",
                                "warn"};
  if (tls_) {
    for (const std::string& arg :
         {std::string("--cert-file"), tls_->server_cert, std::string("--key-file"),
          tls_->server_key, std::string("--trusted-ca-file"), tls_->ca,
          std::string("--client-cert-auth")}) {
      argv.push_back(arg);
    }
  }
  m.process = std::make_unique<Process>(argv, dir_.path(), m.name);
}

std::string Etcd::clientUrl(size_t member) const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") +
         std::to_string(members_[member].client_port);
}

std::string Etcd::yamlEndpoints() const {
  std::string out = "[";
  for (size_t i = 0; i < members_.size(); ++i) out += (i == 0 ? "" : ", ") + clientUrl(i);
  return out + "]";
}

std::string Etcd::liveEndpoints() const {
  std::string out;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].process == nullptr) continue;
    out += (out.empty() ? "" : ",") + clientUrl(i);
  }
  return out;
}

CommandResult Etcd::etcdctl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"etcdctl", "--endpoints=" + liveEndpoints(),
                                   "--command-timeout=3s", "--dial-timeout=2s"};
  for (std::string& flag : etcdctlCredentials()) argv.push_back(std::move(flag));
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, deadlineIn(std::chrono::seconds(10)));
}

bool Etcd::put(const std::string& key, const std::string& value) {
  // `--` so that a key starting with '/' or '-' is not taken for a flag.
  return etcdctl({"put", "--", key, value}).exit_code == 0;
}

bool Etcd::del(const std::string& key) { return etcdctl({"del", "--", key}).exit_code == 0; }

std::optional<std::string> Etcd::get(const std::string& key) {
  CommandResult result = etcdctl({"get", "--print-value-only", "--", key});
  if (result.exit_code != 0 || result.out.empty()) return std::nullopt;
  std::string value = result.out;
  if (value.ends_with("\n")) value.pop_back();
  return value;
}

std::vector<std::string> Etcd::keys(const std::string& prefix) {
  CommandResult result = etcdctl({"get", "--prefix", "--keys-only", "--", prefix});
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = result.out.find('\n', start)) != std::string::npos; start = end + 1) {
    if (end > start) out.push_back(result.out.substr(start, end - start));
  }
  return out;
}

int64_t Etcd::revision() {
  CommandResult result = etcdctl({"endpoint", "status", "--write-out=json"});
  auto status = nlohmann::json::parse(result.out, nullptr, false);
  if (!status.is_array() || status.empty()) return 0;
  return status[0]["Status"]["header"].value("revision", int64_t{0});
}

bool Etcd::compact(int64_t revision) {
  return etcdctl({"compact", std::to_string(revision)}).exit_code == 0;
}

std::optional<size_t> Etcd::leader() {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].process == nullptr) continue;
    std::vector<std::string> argv = {"etcdctl", "--endpoints=" + clientUrl(i),
                                     "--command-timeout=2s"};
    for (std::string& flag : etcdctlCredentials()) argv.push_back(std::move(flag));
    for (const char* arg : {"endpoint", "status", "--write-out=json"}) argv.push_back(arg);
    CommandResult result = runCommand(argv, deadlineIn(std::chrono::seconds(5)));
    auto status = nlohmann::json::parse(result.out, nullptr, false);
    if (!status.is_array() || status.empty()) continue;
    const auto& s = status[0]["Status"];
    if (s.value("leader", uint64_t{0}) != 0 &&
        s["header"].value("member_id", uint64_t{0}) == s.value("leader", uint64_t{0})) {
      return i;
    }
  }
  return std::nullopt;
}

void Etcd::kill(size_t member) {
  members_[member].process->signal(SIGKILL);
  members_[member].process->waitExit(deadlineIn(std::chrono::seconds(5)));
  members_[member].process.reset();
}

void Etcd::restart(size_t member, bool wipe) {
  if (wipe) ++generation_;
  startMember(member, wipe ? "new" : "existing");
}

std::vector<std::string> Etcd::etcdctlCredentials() const {
  std::vector<std::string> flags;
  if (tls_) {
    flags = {"--cacert=" + tls_->ca, "--cert=" + tls_->client_cert, "--key=" + tls_->client_key};
  }
  if (!root_password_.empty()) flags.push_back("--user=root:" + root_password_);
  return flags;
}

bool Etcd::enableAuth(const std::string& root_password) {
  const bool made =
      etcdctl({"user", "add", "root", "--new-user-password=" + root_password}).exit_code == 0 &&
      etcdctl({"user", "grant-role", "root", "root"}).exit_code == 0 &&
      etcdctl({"auth", "enable"}).exit_code == 0;
  if (made) root_password_ = root_password;
  return made;
}

bool Etcd::memberHealthy(size_t member) {
  if (!tls_) {
    HttpResponse health = httpGet(members_[member].client_port, "/health");
    return health.status == 200 && health.body.find("\"true\"") != std::string::npos;
  }
  std::vector<std::string> argv = {"etcdctl", "--endpoints=" + clientUrl(member),
                                   "--command-timeout=2s", "--dial-timeout=1s"};
  for (std::string& flag : etcdctlCredentials()) argv.push_back(std::move(flag));
  for (const char* arg : {"endpoint", "health"}) argv.push_back(arg);
  return runCommand(argv, deadlineIn(std::chrono::seconds(5))).exit_code == 0;
}

bool Etcd::waitHealthy(Deadline deadline) {
  return waitUntil(
      [&] {
        for (size_t i = 0; i < members_.size(); ++i) {
          if (members_[i].process != nullptr && !memberHealthy(i)) return false;
        }
        return true;
      },
      deadline);
}

std::string Etcd::logs() const {
  std::string out;
  for (const Member& m : members_) {
    if (m.process) out += "--- etcd " + m.name + "\n" + m.process->err();
  }
  return out;
}

}  // namespace remora::harness

// Etcd: Debian's real etcd run by the tests, one member or a cluster on loopback, with
// etcdctl for reading and writing keys the way another client of the registry would.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/harness/process.h"
#include "integration/harness/temp_dir.h"
#include "integration/harness/wait.h"

namespace remora::harness {

// Client TLS for every member: clients must present a certificate that chains to `ca`.
struct EtcdTls {
  std::string ca;
  std::string server_cert;  // the members' own, which also serves them as a client
  std::string server_key;
  std::string client_cert;  // what etcdctl presents
  std::string client_key;
};

class Etcd {
 public:
  // Starts `members` etcd processes forming one cluster and waits until it has a leader.
  // Throws std::runtime_error (with the members' logs) when it cannot.
  explicit Etcd(size_t members = 1, std::optional<EtcdTls> tls = std::nullopt);
  ~Etcd();

  size_t size() const { return members_.size(); }
  std::string clientUrl(size_t member) const;  // http(s)://127.0.0.1:port
  // "[http://..., http://...]": the YAML list of every member's client URL.
  std::string yamlEndpoints() const;

  // etcdctl against the live members; true when it exited 0.
  bool put(const std::string& key, const std::string& value);
  bool del(const std::string& key);
  // The value of `key`, nullopt when absent (or etcd did not answer).
  std::optional<std::string> get(const std::string& key);
  // Every key under `prefix`.
  std::vector<std::string> keys(const std::string& prefix);
  // The store's current revision; 0 when it did not answer.
  int64_t revision();
  bool compact(int64_t revision);
  // Turns authentication on with user `root` (role root); etcdctl calls use it from then on.
  bool enableAuth(const std::string& root_password);

  // The index of the member that leads now; nullopt when none answers.
  std::optional<size_t> leader();
  void kill(size_t member);  // SIGKILL: no goodbye to peers or clients
  // Starts a killed member again on its ports; `wipe` gives it an empty store, as a registry
  // restored from nothing (a single-member cluster only).
  void restart(size_t member, bool wipe = false);
  bool waitHealthy(Deadline deadline);
  std::string logs() const;

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::unique_ptr<Process> process;
  };
  void startMember(size_t member, const std::string& state);
  std::string liveEndpoints() const;
  CommandResult etcdctl(std::vector<std::string> args);
  // etcdctl's certificate flags (none without TLS), and its user once auth is on.
  std::vector<std::string> etcdctlCredentials() const;
  bool memberHealthy(size_t member);

  TempDir dir_;
  std::vector<Member> members_;
  std::optional<EtcdTls> tls_;
  std::string root_password_;  // set once auth is on
  std::string initial_cluster_;
  int generation_ = 0;  // data directories of wiped members get a new name
};

}  // namespace remora::harness

// The consul agent child process for the consul tests, and the loop helpers they share.
#include "test/unit/discovery/consul/consul_agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace remora::consultest {
namespace {

// Dev mode elects itself within ~0.5s; a loaded CI machine gets more.
constexpr std::chrono::seconds kStartLimit{15};

// Built by .ci/install-consul.
std::string consulBinary() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/go/bin/consul";
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

// Ports free for both TCP and UDP (serf and DNS use both) right now, all different: the sockets
// are held until every port is picked.
bool freePorts(uint16_t* ports, size_t count) {
  std::vector<int> held;
  bool ok = true;
  for (size_t i = 0; i < count && ok; ++i) {
    ok = false;
    for (int attempt = 0; attempt < 50 && !ok; ++attempt) {
      const int tcp = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address = loopback(0);
      socklen_t length = sizeof(address);
      if (bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
          getsockname(tcp, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        close(tcp);
        continue;
      }
      const int udp = socket(AF_INET, SOCK_DGRAM, 0);
      ok = bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
      held.push_back(tcp);
      held.push_back(udp);
      ports[i] = ntohs(address.sin_port);
    }
  }
  for (int fd : held) close(fd);
  return ok;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a `consul` subcommand in `dir`; "" when it exited 0.
std::string runConsul(const std::string& dir, std::vector<std::string> args) {
  const std::string log = dir + "/consul-tls.log";
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    if (chdir(dir.c_str()) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return args[1] + " " + args[2] + " " + args[3] + " failed: " + readFile(log);
}

}  // namespace

std::string ConsulAgent::address() const { return "http://127.0.0.1:" + std::to_string(ports_[0]); }

std::string ConsulAgent::httpsAddress() const {
  return "https://127.0.0.1:" + std::to_string(ports_[5]);
}

std::string ConsulAgent::enableTls(const std::string& dir) {
  const std::string binary = consulBinary();
  for (const auto& args : {std::vector<std::string>{binary, "tls", "ca", "create"},
                           std::vector<std::string>{binary, "tls", "cert", "create", "-server"},
                           std::vector<std::string>{binary, "tls", "cert", "create", "-client"}}) {
    if (std::string error = runConsul(dir, args); !error.empty()) return error;
  }
  tls_dir_ = dir;
  return "";
}

std::string ConsulAgent::start() {
  kill();
  if (ports_[0] == 0 && !freePorts(ports_, 6)) return "no free ports";
  return launch();
}

void ConsulAgent::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ConsulAgent::launch() {
  log_path_ = ::testing::TempDir() + "consul-" + std::to_string(getpid()) + "-" +
              std::to_string(ports_[0]) + ".log";
  const std::string binary = consulBinary();
  if (access(binary.c_str(), X_OK) != 0) {
    return binary + " is missing: .ci/install-consul builds it";
  }
  std::vector<std::string> args = {binary,
                                   "agent",
                                   "-dev",
                                   "-bind",
                                   "127.0.0.1",
                                   "-client",
                                   "127.0.0.1",
                                   "-node",
                                   "test",
                                   "-http-port",
                                   std::to_string(ports_[0]),
                                   "-dns-port",
                                   std::to_string(ports_[1]),
                                   "-server-port",
                                   std::to_string(ports_[2]),
                                   "-serf-lan-port",
                                   std::to_string(ports_[3]),
                                   "-serf-wan-port",
                                   std::to_string(ports_[4]),
                                   "-grpc-port",
                                   "-1",
                                   "-grpc-tls-port",
                                   "-1"};
  if (!tls_dir_.empty()) {
    args.insert(args.end(),
                {"-hcl", "ports { https = " + std::to_string(ports_[5]) + " }", "-hcl",
                 "tls { defaults { ca_file = \"" + caFile() + "\" cert_file = \"" + tls_dir_ +
                     "/dc1-server-consul-0.pem\" key_file = \"" + tls_dir_ +
                     "/dc1-server-consul-0-key.pem\" } https { verify_incoming = true } }"});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + kStartLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return "consul exited: " + readFile(log_path_);
    }
    // The leader's address, or "" while there is none (or nothing while it does not listen).
    const discovery::HttpResponse leader = fetchNow(http_, "GET", address() + "/v1/status/leader");
    if (leader.status == 200 && leader.body.find(':') != std::string::npos) return "";
    // Refused connections come back at once: wait a little on the loop before asking again.
    runUntil(
        http_.base(), [] { return false; }, std::chrono::milliseconds(50));
  }
  kill();
  return "consul had no leader within 15s: " + readFile(log_path_);
}

bool runUntil(event_base* base, const std::function<bool()>& done,
              std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // Wakes the loop at the deadline when nothing else happens.
  event* wake = evtimer_new(
      base, [](evutil_socket_t, short, void*) {}, nullptr);
  const timeval tv = {static_cast<time_t>(limit.count() / 1000),
                      static_cast<suseconds_t>(limit.count() % 1000) * 1000};
  evtimer_add(wake, &tv);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    event_base_loop(base, EVLOOP_ONCE);
  }
  event_free(wake);
  return done();
}

discovery::HttpResponse fetchNow(discovery::HttpClient& http, const std::string& method,
                                 const std::string& url, const std::string& body) {
  discovery::HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  request.timeout = std::chrono::milliseconds(5000);
  std::optional<discovery::HttpResponse> response;
  auto call = http.fetch(std::move(request),
                         [&](discovery::HttpResponse answer) { response = std::move(answer); });
  runUntil(
      http.base(), [&] { return response.has_value(); }, std::chrono::milliseconds(6000));
  if (!response) {
    discovery::HttpResponse none;
    none.error = "no answer within 6s";
    return none;
  }
  return *response;
}

}  // namespace remora::consultest

// The dnsmasq child process for the dns tests, and the event loop driver they share.
#include "test/unit/discovery/dns/dnsmasq.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace remora::dnstest {
namespace {

constexpr char kDnsmasq[] = "/usr/sbin/dnsmasq";
constexpr std::chrono::seconds kStartLimit{5};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

// A port free for both UDP and TCP on 127.0.0.1 at this moment (dnsmasq listens on both).
uint16_t freePort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof(address);
    if (bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      close(udp);
      continue;
    }
    const int tcp = socket(AF_INET, SOCK_STREAM, 0);
    const bool free = bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(tcp);
    close(udp);
    if (free) return ntohs(address.sin_port);
  }
  return 0;
}

bool tcpConnects(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in address = loopback(port);
  const bool connected =
      connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string Dnsmasq::start(const std::vector<std::string>& records) {
  stop();
  std::string error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = freePort();
    if (port_ == 0) return "no free port";
    error = launch(records);
    // Another process may have taken the port between the check and dnsmasq's bind.
    if (error.empty() || error.find("in use") == std::string::npos) return error;
  }
  return error;
}

std::string Dnsmasq::restart(const std::vector<std::string>& records) {
  stop();
  return launch(records);
}

void Dnsmasq::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

std::string Dnsmasq::launch(const std::vector<std::string>& records) {
  log_path_ = ::testing::TempDir() + "dnsmasq-" + std::to_string(getpid()) + "-" +
              std::to_string(port_) + ".log";
  // --no-daemon is dnsmasq's debug mode: it stays in the foreground, keeps its user (root here
  // is fine), writes no pid file and serves TCP without forking.
  std::vector<std::string> args = {kDnsmasq,
                                   "--no-daemon",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--conf-file=/dev/null",
                                   "--log-facility=-",
                                   "--listen-address=127.0.0.1",
                                   "--bind-interfaces",
                                   "--port=" + std::to_string(port_),
                                   "--local=/test.local/"};
  args.insert(args.end(), records.begin(), records.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    // A test process that dies (a crash, SIGPIPE from `| head`) takes its dnsmasq along.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(127);
    const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(kDnsmasq, argv.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + kStartLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return "dnsmasq exited: " + readFile(log_path_);
    }
    if (tcpConnects(port_)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string output = readFile(log_path_);
  stop();
  return "dnsmasq did not listen within 5s: " + output;
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

}  // namespace remora::dnstest

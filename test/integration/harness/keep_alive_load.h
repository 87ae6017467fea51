// KeepAliveLoad: client threads sending requests back to back on keep-alive connections, over
// HTTP/1.1 and HTTP/2 (prior knowledge), that move to a new connection when told to leave
// (`Connection: close`, GOAWAY) as well-behaved clients do, and count every request that did
// not get its 200: how a drain is seen from the client side.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness/wait.h"

namespace remora::harness {

class KeepAliveLoad {
 public:
  // Starts `http1` and `http2` clients on 127.0.0.1:port, each sending GET `path`. A client
  // that has been told to leave makes `requests_after_leaving` more requests (on new
  // connections), then stops, as a client whose balancer dropped the instance would.
  KeepAliveLoad(uint16_t port, int http1, int http2, int requests_after_leaving,
                std::string path = "/");
  ~KeepAliveLoad();  // stops every client
  KeepAliveLoad(const KeepAliveLoad&) = delete;
  KeepAliveLoad& operator=(const KeepAliveLoad&) = delete;

  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  // Clients that were told to leave at least once, and times any client was told.
  int clientsTold() const { return clients_told_.load(); }
  int timesTold() const { return times_told_.load(); }
  // HTTP/2 requests sent again on a new connection because a GOAWAY said they were not
  // processed (allowed: RFC 9113 6.8).
  int retried() const { return retried_.load(); }
  bool allStopped() const { return running_.load() == 0; }
  // The first failures, one line each.
  std::string failures() const;
  void stop();

 private:
  void runHttp1();
  void runHttp2();
  void fail(const std::string& what);
  bool keepGoing(bool told, int& after);

  uint16_t port_;
  int requests_after_leaving_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<int> running_{0};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> clients_told_{0};
  std::atomic<int> times_told_{0};
  std::atomic<int> retried_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace remora::harness

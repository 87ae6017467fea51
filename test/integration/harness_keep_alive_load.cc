// Keep-alive load clients that follow Connection: close and GOAWAY, and count failures.
#include <memory>
#include <sstream>

#include "integration/harness/h2_frames.h"
#include "integration/harness/http.h"
#include "integration/harness/keep_alive_load.h"

namespace remora::harness {

namespace {
using namespace std::chrono_literals;
constexpr uint32_t kNoticeLastStream = 0x7fffffff;
constexpr size_t kFailuresKept = 10;
}  // namespace

KeepAliveLoad::KeepAliveLoad(uint16_t port, int http1, int http2, int requests_after_leaving,
                             std::string path)
    : port_(port), requests_after_leaving_(requests_after_leaving), path_(std::move(path)) {
  running_ = http1 + http2;
  for (int i = 0; i < http1; ++i) threads_.emplace_back([this] { runHttp1(); });
  for (int i = 0; i < http2; ++i) threads_.emplace_back([this] { runHttp2(); });
}

KeepAliveLoad::~KeepAliveLoad() { stop(); }

void KeepAliveLoad::stop() {
  stop_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::string KeepAliveLoad::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& failure : failures_) out += failure + "\n";
  return out;
}

void KeepAliveLoad::fail(const std::string& what) {
  ++failed_;
  std::lock_guard<std::mutex> lock(mutex_);
  if (failures_.size() < kFailuresKept) failures_.push_back(what);
}

bool KeepAliveLoad::keepGoing(bool told, int& after) {
  if (told && ++after > requests_after_leaving_) return false;
  return !stop_.load();
}

void KeepAliveLoad::runHttp1() {
  HttpClient client;
  bool told = false;
  int after = 0;
  while (keepGoing(told, after)) {
    if (!client.connected() && !client.connect(port_, deadlineIn(2s))) {
      fail("HTTP/1.1: connect: " + client.error());
      continue;
    }
    HttpResponse response = client.request("GET", path_, {}, {}, deadlineIn(5s));
    if (response.status != 200 || !response.ok()) {
      std::ostringstream text;
      text << "HTTP/1.1: " << response;
      fail(text.str());
      client.close();
      continue;
    }
    ++ok_;
    auto connection = response.headers.get("connection");
    if (connection && hasToken(*connection, "close")) {
      if (!told) ++clients_told_;
      told = true;
      ++times_told_;
      client.close();
    }
  }
  --running_;
}

void KeepAliveLoad::runHttp2() {
  std::unique_ptr<h2::H2Client> client;
  uint32_t next_stream = 1;
  bool final_goaway = false;  // on the current connection
  bool told = false;
  int after = 0;
  auto toldToLeave = [&] {
    if (!told) ++clients_told_;
    told = true;
    ++times_told_;
  };
  while (keepGoing(told, after)) {
    if (client == nullptr) {
      client = std::make_unique<h2::H2Client>();
      next_stream = 1;
      final_goaway = false;
      if (!client->connect(port_, {}, deadlineIn(2s))) {
        fail("HTTP/2: connect: " + client->error());
        client.reset();
        continue;
      }
    }
    const uint32_t stream = next_stream;
    next_stream += 2;
    if (!client->send(h2::getRequest(stream, path_))) {
      fail("HTTP/2: send: " + client->error());
      client.reset();
      continue;
    }
    int status = 0;
    bool done = false;
    bool retry = false;
    std::string error;
    const Deadline deadline = deadlineIn(5s);
    while (!done && !retry && error.empty()) {
      std::optional<h2::Frame> frame = client->readFrame(deadline);
      if (!frame) {
        error = client->closed() ? "connection closed" : "no frame: " + client->error();
        break;
      }
      if (frame->type == h2::kPing && !frame->has(h2::kAck)) {
        client->send(h2::frame(h2::kPing, h2::kAck, 0, frame->payload));
      } else if (frame->type == h2::kGoaway) {
        toldToLeave();
        if (frame->lastStreamId() == kNoticeLastStream) continue;  // a shutdown notice
        final_goaway = true;
        if (frame->errorCode() != h2::kNoError) error = h2::describe(*frame);
        if (stream > frame->lastStreamId()) retry = true;  // never processed: send it again
      } else if (frame->stream == stream && frame->type == h2::kHeaders) {
        status = frame->status() != 0 ? frame->status() : status;
        done = frame->has(h2::kEndStream);
      } else if (frame->stream == stream && frame->type == h2::kData) {
        done = frame->has(h2::kEndStream);
      } else if (frame->stream == stream && frame->type == h2::kRstStream) {
        if (frame->errorCode() == h2::kRefusedStream) {
          retry = true;
        } else {
          error = h2::describe(*frame);
        }
      }
    }
    if (retry) {
      ++retried_;
      --after;  // the same request goes again
      client.reset();
      continue;
    }
    if (!error.empty() || status != 200) {
      fail("HTTP/2: stream " + std::to_string(stream) + ": status " + std::to_string(status) +
           (error.empty() ? "" : ": " + error));
      client.reset();
      continue;
    }
    ++ok_;
    if (final_goaway) client.reset();  // new requests go on a new connection
  }
  --running_;
}

}  // namespace remora::harness

// HTTP/1.1 messages for the integration tests: parse what a peer sent, format what to send, and a
// raw-socket client with deadlines that can send anything, malformed or pipelined.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "integration/harness/socket.h"
#include "integration/harness/wait.h"

namespace remora::harness {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Header fields in arrival order; lookups ignore case.
class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  std::optional<std::string> get(std::string_view name) const;  // the first one
  std::vector<std::string> getAll(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const HeaderList& entries() const { return entries_; }

 private:
  HeaderList entries_;
};

bool equalsIgnoreCase(std::string_view a, std::string_view b);
// Whether a comma-separated header value (e.g. Connection) lists `token`, ignoring case.
bool hasToken(std::string_view list, std::string_view token);

struct HttpRequest {
  std::string method;
  std::string target;
  std::string version;
  HttpHeaders headers;
  std::string body;  // de-chunked
};

struct HttpResponse {
  int status = 0;  // 0: no status line arrived
  std::string version;
  std::string reason;
  HttpHeaders headers;
  std::string body;   // de-chunked
  std::string error;  // why the response is missing or incomplete; "" when complete
  bool timed_out = false;

  bool ok() const { return status != 0 && error.empty(); }
};

std::ostream& operator<<(std::ostream& os, const HttpResponse& response);
void PrintTo(const HttpResponse& response, std::ostream* os);  // for gtest messages

// Reading. Every function stops at the deadline.
HttpResponse readResponseHead(Socket& socket, Deadline deadline);
// Completes `response` (from readResponseHead) with its body, framed as RFC 9112 says: none for
// HEAD, 1xx, 204 and 304; chunked; Content-Length; otherwise until the peer closes.
void readResponseBody(Socket& socket, HttpResponse& response, bool head_request, Deadline deadline);
HttpResponse readResponse(Socket& socket, Deadline deadline, bool head_request = false);
// One chunk's data; "" for the last chunk (its trailers are consumed); nullopt and `error` on a
// framing error, EOF or the deadline.
std::optional<std::string> readChunk(Socket& socket, Deadline deadline, std::string* error);
std::optional<HttpRequest> readRequestHead(Socket& socket, Deadline deadline, std::string* error);
// The body of a request read by readRequestHead (Content-Length or chunked).
bool readRequestBody(Socket& socket, HttpRequest& request, Deadline deadline, std::string* error);

// Formatting. A Content-Length is added when `body` is not empty and the headers have neither
// Content-Length nor Transfer-Encoding; formatRequest adds `Host: localhost` when Host is absent.
std::string formatRequest(std::string_view method, std::string_view target,
                          const HeaderList& headers = {}, std::string_view body = {});
std::string formatResponse(int status, std::string_view body = {}, const HeaderList& headers = {});
std::string formatChunk(std::string_view data);  // "" gives the last chunk "0\r\n\r\n"

// A client on one connection. Failures land in the returned HttpResponse's error or in error().
class HttpClient {
 public:
  HttpClient() = default;
  explicit HttpClient(uint16_t port) { connect(port); }

  bool connect(uint16_t port, Deadline deadline = deadlineIn(std::chrono::seconds(2)));
  bool connected() const { return socket_.valid(); }
  bool send(std::string_view bytes, Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  HttpResponse readResponse(Deadline deadline = deadlineIn(std::chrono::seconds(5)),
                            bool head_request = false);
  HttpResponse readResponseHead(Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  std::optional<std::string> readChunk(Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  std::optional<std::string> readUntil(std::string_view delim,
                                       Deadline deadline = deadlineIn(std::chrono::seconds(5)));
  std::string readAll(Deadline deadline = deadlineIn(std::chrono::seconds(5)));  // until close
  bool waitClosed(Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  // send(formatRequest(...)) then readResponse().
  HttpResponse request(std::string_view method, std::string_view target,
                       const HeaderList& headers = {}, std::string_view body = {},
                       Deadline deadline = deadlineIn(std::chrono::seconds(5)));

  void close() { socket_.close(); }
  Socket& socket() { return socket_; }
  const std::string& error() const { return error_; }

 private:
  Socket socket_;
  std::string error_;
};

// One request on a fresh connection to 127.0.0.1:port.
HttpResponse httpRequest(uint16_t port, std::string_view method, std::string_view target,
                         const HeaderList& headers = {}, std::string_view body = {},
                         Deadline deadline = deadlineIn(std::chrono::seconds(5)));
HttpResponse httpGet(uint16_t port, std::string_view target, const HeaderList& headers = {},
                     Deadline deadline = deadlineIn(std::chrono::seconds(5)));

}  // namespace remora::harness

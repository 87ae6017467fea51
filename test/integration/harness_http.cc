// HTTP/1.1 message reading and formatting for the harness, and HttpClient.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "integration/harness/http.h"

namespace remora::harness {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits a head (start line + fields, ending in an empty line) into the start line and fields.
// Lenient on purpose: it reads what remora and upstreams send, and tests assert on the result.
bool parseHead(std::string_view head, std::string* start_line, HttpHeaders* headers,
               std::string* error) {
  bool first = true;
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    if (line.empty()) break;
    if (first) {
      *start_line = std::string(line);
      first = false;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      *error = "header line without a colon: " + std::string(line);
      return false;
    }
    headers->add(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  if (first) {
    *error = "empty head";
    return false;
  }
  return true;
}

std::string ioError(const Socket& socket, std::string_view what) {
  return std::string(what) + ": " + socket.error();
}

bool isChunked(const HttpHeaders& headers) {
  for (const std::string& te : headers.getAll("transfer-encoding")) {
    if (hasToken(te, "chunked")) return true;
  }
  return false;
}

std::optional<size_t> contentLength(const HttpHeaders& headers) {
  std::optional<std::string> value = headers.get("content-length");
  if (!value) return std::nullopt;
  size_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return n;
}

// Reads a chunked body to its end into `body`.
bool readChunkedBody(Socket& socket, std::string* body, Deadline deadline, std::string* error) {
  while (true) {
    std::optional<std::string> chunk = readChunk(socket, deadline, error);
    if (!chunk) return false;
    if (chunk->empty()) return true;
    *body += *chunk;
  }
}

void appendHeaders(std::string& out, const HeaderList& headers) {
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
}

bool listHas(const HeaderList& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return equalsIgnoreCase(header.first, name); });
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (equalsIgnoreCase(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void HttpHeaders::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHeaders::getAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : entries_) {
    if (equalsIgnoreCase(key, name)) values.push_back(value);
  }
  return values;
}

std::ostream& operator<<(std::ostream& os, const HttpResponse& response) {
  os << "HTTP response: status " << response.status << " " << response.reason;
  if (!response.error.empty()) os << " (error: " << response.error << ")";
  for (const auto& [name, value] : response.headers.entries()) {
    os << "\n  " << name << ": " << value;
  }
  constexpr size_t kShown = 512;
  os << "\n  body (" << response.body.size() << " bytes): " << response.body.substr(0, kShown)
     << (response.body.size() > kShown ? "..." : "");
  return os;
}

void PrintTo(const HttpResponse& response, std::ostream* os) { *os << response; }

HttpResponse readResponseHead(Socket& socket, Deadline deadline) {
  HttpResponse response;
  std::optional<std::string> head = socket.readUntil("\r\n\r\n", deadline);
  if (!head) {
    response.timed_out = socket.status() == IoStatus::Timeout;
    response.error = ioError(socket, "reading the response head");
    return response;
  }
  std::string status_line;
  if (!parseHead(*head, &status_line, &response.headers, &response.error)) return response;
  // "HTTP/1.1 200 OK": version, status, optional reason.
  size_t sp1 = status_line.find(' ');
  if (sp1 == std::string::npos || status_line.compare(0, 5, "HTTP/") != 0) {
    response.error = "bad status line: " + status_line;
    return response;
  }
  response.version = status_line.substr(0, sp1);
  size_t sp2 = status_line.find(' ', sp1 + 1);
  std::string code = status_line.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
  int status = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (ec != std::errc() || end != code.data() + code.size() || code.size() != 3) {
    response.error = "bad status line: " + status_line;
    return response;
  }
  response.status = status;
  if (sp2 != std::string::npos) response.reason = status_line.substr(sp2 + 1);
  return response;
}

void readResponseBody(Socket& socket, HttpResponse& response, bool head_request,
                      Deadline deadline) {
  if (!response.error.empty()) return;
  int status = response.status;
  if (head_request || (status >= 100 && status < 200) || status == 204 || status == 304) return;
  if (isChunked(response.headers)) {
    if (!readChunkedBody(socket, &response.body, deadline, &response.error)) {
      response.timed_out = socket.status() == IoStatus::Timeout;
    }
    return;
  }
  if (response.headers.has("content-length")) {
    std::optional<size_t> length = contentLength(response.headers);
    if (!length) {
      response.error = "bad Content-Length";
      return;
    }
    std::optional<std::string> body = socket.readExactly(*length, deadline);
    if (!body) {
      response.timed_out = socket.status() == IoStatus::Timeout;
      response.error = ioError(socket, "reading a " + std::to_string(*length) + "-byte body");
      return;
    }
    response.body = std::move(*body);
    return;
  }
  response.body = socket.readToEof(deadline);
  if (socket.status() == IoStatus::Timeout) {
    response.timed_out = true;
    response.error = "reading a body delimited by close: timed out";
  }
}

HttpResponse readResponse(Socket& socket, Deadline deadline, bool head_request) {
  HttpResponse response = readResponseHead(socket, deadline);
  readResponseBody(socket, response, head_request, deadline);
  return response;
}

std::optional<std::string> readChunk(Socket& socket, Deadline deadline, std::string* error) {
  std::optional<std::string> size_line = socket.readUntil("\r\n", deadline);
  if (!size_line) {
    *error = ioError(socket, "reading a chunk size");
    return std::nullopt;
  }
  std::string_view line(*size_line);
  line.remove_suffix(2);  // CRLF
  std::string_view digits = trim(line.substr(0, line.find(';')));
  size_t size = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    *error = "bad chunk size line: " + *size_line;
    return std::nullopt;
  }
  if (size == 0) {
    while (true) {  // trailers, up to the empty line
      std::optional<std::string> line = socket.readUntil("\r\n", deadline);
      if (!line) {
        *error = ioError(socket, "reading trailers");
        return std::nullopt;
      }
      if (*line == "\r\n") return std::string();
    }
  }
  std::optional<std::string> data = socket.readExactly(size + 2, deadline);
  if (!data) {
    *error = ioError(socket, "reading chunk data");
    return std::nullopt;
  }
  if (data->compare(size, 2, "\r\n") != 0) {
    *error = "chunk data not followed by CRLF";
    return std::nullopt;
  }
  data->resize(size);
  return data;
}

std::optional<HttpRequest> readRequestHead(Socket& socket, Deadline deadline, std::string* error) {
  std::optional<std::string> head = socket.readUntil("\r\n\r\n", deadline);
  if (!head) {
    *error = ioError(socket, "reading the request head");
    return std::nullopt;
  }
  HttpRequest request;
  std::string request_line;
  if (!parseHead(*head, &request_line, &request.headers, error)) return std::nullopt;
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) {
    *error = "bad request line: " + request_line;
    return std::nullopt;
  }
  request.method = request_line.substr(0, sp1);
  request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.version = request_line.substr(sp2 + 1);
  return request;
}

bool readRequestBody(Socket& socket, HttpRequest& request, Deadline deadline, std::string* error) {
  if (isChunked(request.headers)) return readChunkedBody(socket, &request.body, deadline, error);
  if (!request.headers.has("content-length")) return true;
  std::optional<size_t> length = contentLength(request.headers);
  if (!length) {
    *error = "bad Content-Length";
    return false;
  }
  std::optional<std::string> body = socket.readExactly(*length, deadline);
  if (!body) {
    *error = ioError(socket, "reading the request body");
    return false;
  }
  request.body = std::move(*body);
  return true;
}

std::string formatRequest(std::string_view method, std::string_view target,
                          const HeaderList& headers, std::string_view body) {
  std::string out = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  if (!listHas(headers, "host")) out += "Host: localhost\r\n";
  appendHeaders(out, headers);
  if (!body.empty() && !listHas(headers, "content-length") &&
      !listHas(headers, "transfer-encoding")) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

std::string formatResponse(int status, std::string_view body, const HeaderList& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  appendHeaders(out, headers);
  bool bodiless = status < 200 || status == 204 || status == 304;
  if (!bodiless && !listHas(headers, "content-length") && !listHas(headers, "transfer-encoding")) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

std::string formatChunk(std::string_view data) {
  if (data.empty()) return "0\r\n\r\n";  // the last chunk and an empty trailer section
  char size[32];
  char* end = std::to_chars(size, size + sizeof(size), data.size(), 16).ptr;
  std::string out(size, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}

bool HttpClient::connect(uint16_t port, Deadline deadline) {
  socket_ = Socket::connectTo(port, deadline);
  error_ = socket_.error();
  return socket_.valid();
}

bool HttpClient::send(std::string_view bytes, Deadline deadline) {
  bool sent = socket_.sendAll(bytes, deadline);
  if (!sent) error_ = socket_.error();
  return sent;
}

HttpResponse HttpClient::readResponse(Deadline deadline, bool head_request) {
  return harness::readResponse(socket_, deadline, head_request);
}

HttpResponse HttpClient::readResponseHead(Deadline deadline) {
  return harness::readResponseHead(socket_, deadline);
}

std::optional<std::string> HttpClient::readChunk(Deadline deadline) {
  return harness::readChunk(socket_, deadline, &error_);
}

std::optional<std::string> HttpClient::readUntil(std::string_view delim, Deadline deadline) {
  std::optional<std::string> out = socket_.readUntil(delim, deadline);
  if (!out) error_ = socket_.error();
  return out;
}

std::string HttpClient::readAll(Deadline deadline) { return socket_.readToEof(deadline); }

bool HttpClient::waitClosed(Deadline deadline) { return socket_.waitClosed(deadline); }

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 const HeaderList& headers, std::string_view body,
                                 Deadline deadline) {
  if (!send(formatRequest(method, target, headers, body), deadline)) {
    HttpResponse failed;
    failed.error = "sending the request: " + error_;
    return failed;
  }
  return readResponse(deadline, method == "HEAD");
}

HttpResponse httpRequest(uint16_t port, std::string_view method, std::string_view target,
                         const HeaderList& headers, std::string_view body, Deadline deadline) {
  HttpClient client;
  if (!client.connect(port, deadline)) {
    HttpResponse failed;
    failed.error = client.error();
    return failed;
  }
  return client.request(method, target, headers, body, deadline);
}

HttpResponse httpGet(uint16_t port, std::string_view target, const HeaderList& headers,
                     Deadline deadline) {
  return httpRequest(port, "GET", target, headers, {}, deadline);
}

}  // namespace remora::harness

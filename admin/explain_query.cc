// Reading /explain's query parameters, and its request through the HTTP/1.1 codec's code.
#include "admin/explain_query.h"

#include <arpa/inet.h>
#include <event2/http.h>

#include <cstdlib>
#include <memory>
#include <set>

#include "config/http_syntax.h"
#include "proxy/hop_by_hop.h"
#include "proxy/http1_parser.h"
#include "proxy/http1_server_connection.h"
#include "proxy/http1_syntax.h"
#include "proxy/size_class_memory.h"

namespace remora::admin {

namespace {

Error problem(std::string text) { return Error({}, std::move(text)); }

// Percent-decoded, '+' as a space, NUL bytes kept (the codec rejects them where it would).
std::string decoded(std::string_view text) {
  size_t size = 0;
  std::unique_ptr<char, void (*)(void*)> out(evhttp_uridecode(std::string(text).c_str(), 1, &size),
                                             &freeLibeventMemory);
  return out ? std::string(out.get(), size) : std::string();
}

// A header= value scanned as the codec scans a field line: its name lowercased and the line
// "name: value", or the scanner's reason when it is not one.
struct ScannedField {
  std::string name;
  std::string line;
  const char* error = nullptr;
};

ScannedField scanField(const std::string& value) {
  const std::string line = value + "\r\n";
  const char* end = line.data() + line.size();
  http1::detail::FieldLine field;
  const char* next = nullptr;
  const char* reason = "incomplete field line";
  if (http1::detail::scanFieldLine(line.data(), end, field, next, reason) !=
          http1::detail::ScanStatus::Ok ||
      next != end) {
    return {"", "", reason};
  }
  std::string name = toLower(field.name);
  std::string scanned = name + ": " + std::string(field.value);
  return {std::move(name), std::move(scanned), nullptr};
}

bool isIpAddress(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

Result<ExplainQuery> parseExplainQuery(std::string_view query) {
  ExplainQuery out;
  std::vector<Error> errors;
  std::set<std::string> given;  // the parameters that may come once
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string name = decoded(pair.substr(0, eq));
    if (eq == std::string_view::npos) {
      errors.push_back(problem("'" + name + "' is not name=value"));
      continue;
    }
    std::string value = decoded(pair.substr(eq + 1));
    // The parts become lines of a request head: a line break would make more of them.
    if (value.find_first_of("\r\n") != std::string::npos) {
      errors.push_back(problem(name + "= holds a CR or LF"));
      continue;
    }
    if ((name == "method" || name == "path") && value.find(' ') != std::string::npos) {
      errors.push_back(problem(name + " '" + value + "' holds a space, which splits a request " +
                               "line: remora answers 400"));
      continue;
    }
    if (name != "header" && !given.insert(name).second) {
      errors.push_back(problem(name + "= given more than once"));
    }
    if (name == "listener") {
      out.listener = std::move(value);
    } else if (name == "method") {
      out.method = std::move(value);
    } else if (name == "path") {
      out.path = std::move(value);
    } else if (name == "client") {
      if (!isIpAddress(value)) errors.push_back(problem("client '" + value + "' is not an IP"));
      out.client = std::move(value);
    } else if (name == "host") {
      out.host = std::move(value);
    } else if (name == "header") {
      ScannedField field = scanField(value);
      if (field.error != nullptr) {
        errors.push_back(
            problem("header=" + value + ": expected name:value (" + field.error + ")"));
        continue;
      }
      out.host_field = out.host_field || field.name == "host";
      out.fields.push_back(std::move(field.line));
    } else {
      errors.push_back(problem("unknown parameter '" + name +
                               "'; known: listener, path, method, host, client, header "
                               "(name:value)"));
    }
  }
  if (out.host && out.host_field) {
    errors.push_back(problem("host= and header=host:... both given; one Host only"));
  }
  if (!errors.empty()) return errors;
  return out;
}

Result<CodecRequest> readAsCodec(const ExplainQuery& query, const config::Listener& listener) {
  CodecRequest out;
  std::string head = query.method + " " + query.path + " HTTP/1.1\r\n";
  if (query.host) {
    head += "host: " + *query.host + "\r\n";
  } else if (!query.host_field) {
    head += "host: \r\n";
    out.notes.push_back("no host= or header=host:... given: the Host is empty");
  }
  for (const auto& line : query.fields) head += line + "\r\n";
  head += "\r\n";

  // As Http1ServerConnection::parseHead reads a request, with the listener's limits.
  const http1::Limits limits{listener.max_request_headers_bytes,
                             listener.max_request_headers_count};
  http1::RequestHead parsed;
  auto refused = [&](int status, const std::string& reason) {
    return problem("remora answers '" + query.method + " " + query.path + "' " +
                   std::to_string(status) + " (" + reason + ") before routing it");
  };
  const http1::HeadResult result = http1::parseRequestHead(head, limits, parsed);
  if (result.status == http1::HeadStatus::Error) {
    return refused(result.error.status, result.error.reason);
  }
  if (result.status != http1::HeadStatus::Complete || result.consumed != head.size()) {
    return refused(400, "malformed request head");
  }
  http1::BodyFraming framing;
  http1::ParseError error;
  if (!http1::requestBodyFraming(parsed, framing, error)) {
    return refused(error.status, error.reason);
  }
  if (parsed.method == "CONNECT") return refused(501, "CONNECT is not supported");

  const std::string target = parsed.target;
  std::vector<std::string> names;
  for (const auto& field : parsed.headers) names.emplace_back(field.name);
  const bool upgrade = upgradePassesOn(parsed.headers);
  out.request = requestFromHead(parsed, upgrade);

  if (out.request.path != target) {
    out.notes.push_back("path '" + target + "' normalized to '" + out.request.path +
                        "' as remora's codecs do before matching");
  }
  std::set<std::string> seen;
  std::string dropped;
  for (const auto& name : names) {
    if (name == "host" || out.request.headers.has(name) || !seen.insert(name).second) continue;
    dropped += (dropped.empty() ? "'" : ", '") + name + "'";
  }
  if (!dropped.empty()) {
    out.notes.push_back("hop-by-hop fields removed as the codec does: " + dropped);
  }
  return out;
}

}  // namespace remora::admin

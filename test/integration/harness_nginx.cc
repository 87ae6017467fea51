// Nginx: config generation, start with port retry, and the location snippets tests compose.
#include <signal.h>

#include <stdexcept>

#include "integration/harness/nginx.h"
#include "integration/harness/socket.h"

namespace remora::harness {
namespace {

// An nginx string literal. `$` would start a variable and has no escape, so it is refused.
std::string quote(std::string_view text) {
  if (text.find('$') != std::string_view::npos) {
    throw std::invalid_argument("Nginx: '$' in a literal: " + std::string(text));
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string tlsDirectives(const std::optional<NginxTls>& tls) {
  if (!tls) return {};
  std::string out = "    ssl_certificate " + tls->cert + ";\n    ssl_certificate_key " + tls->key +
                    ";\n    ssl_protocols TLSv1.2 TLSv1.3;\n";
  if (!tls->client_ca.empty()) {
    out += "    ssl_client_certificate " + tls->client_ca + ";\n    ssl_verify_client on;\n";
  }
  return out;
}

std::string nginxConfig(const std::filesystem::path& dir, uint16_t port,
                        const std::string& server_body, const std::optional<NginxTls>& tls,
                        bool http2) {
  std::string d = dir.string();
  return "master_process off;\n"
         "worker_processes 1;\n"
         "pid " +
         d +
         "/nginx.pid;\n"
         "error_log " +
         d +
         "/error.log info;\n"
         "events { worker_connections 512; }\n"
         "http {\n"
         "  access_log " +
         d +
         "/access.log;\n"
         "  client_body_temp_path " +
         d +
         "/client_body;\n"
         "  proxy_temp_path " +
         d +
         "/proxy;\n"
         "  fastcgi_temp_path " +
         d +
         "/fastcgi;\n"
         "  uwsgi_temp_path " +
         d +
         "/uwsgi;\n"
         "  scgi_temp_path " +
         d +
         "/scgi;\n"
         "  default_type text/plain;\n"
         "  keepalive_requests 10000;\n"
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) + (tls ? " ssl" : "") + (http2 ? " http2" : "") +
         ";\n"
         "    server_name _;\n" +
         tlsDirectives(tls) + server_body +
         "  }\n"
         "}\n";
}

}  // namespace

Nginx::Nginx(const std::string& server_body, const std::optional<NginxTls>& tls, bool http2) {
  constexpr int kAttempts = 5;
  std::string last_error;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    port_ = freePort();
    std::filesystem::path conf = dir_.file("nginx.conf");
    writeFile(conf, nginxConfig(dir_.path(), port_, server_body, tls, http2));
    if (launch()) return;
    last_error = errorLog() + process_->err();
    process_.reset();
    if (last_error.find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("nginx did not start:\n" + last_error);
}

bool Nginx::launch() {
  std::error_code ignored;
  std::filesystem::remove(dir_.file("error.log"), ignored);
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/sbin/nginx", "-p", dir_.path().string(), "-c",
                               dir_.file("nginx.conf").string(), "-e",
                               dir_.file("error.log").string(), "-g", "daemon off;"},
      dir_.path(), "nginx");
  bool up = waitUntil(
      [this] {
        if (!process_->running()) return true;
        return Socket::connectTo(port_, deadlineIn(std::chrono::seconds(1))).valid();
      },
      deadlineIn(std::chrono::seconds(10)));
  // Accepting and still running (a port stolen meanwhile makes nginx exit instead).
  return up && process_->running() && errorLog().find("[emerg]") == std::string::npos;
}

void Nginx::kill() {
  if (!process_ || !process_->running()) return;
  process_->signal(SIGKILL);
  process_->waitExit(deadlineIn(std::chrono::seconds(5)));
}

bool Nginx::restart(std::string* error) {
  kill();
  if (launch()) return true;
  if (error != nullptr) *error = errorLog() + process_->err();
  return false;
}

Nginx::~Nginx() {
  if (process_ && process_->running()) {
    process_->signal(SIGQUIT);  // graceful, then the Process destructor kills if needed
    process_->waitExit(deadlineIn(std::chrono::seconds(2)));
  }
}

std::string Nginx::address() const { return "127.0.0.1:" + std::to_string(port_); }
std::string Nginx::errorLog() const { return readFile(dir_.file("error.log")); }
std::string Nginx::accessLog() const { return readFile(dir_.file("access.log")); }

std::string Nginx::fixed(std::string_view path, int status, std::string_view body,
                         const HeaderList& headers) {
  std::string out = "    location = " + std::string(path) + " {\n";
  for (const auto& [name, value] : headers) {
    out += "      add_header " + name + " " + quote(value) + " always;\n";
  }
  out += "      return " + std::to_string(status) + " " + quote(body) + ";\n    }\n";
  return out;
}

std::string Nginx::echo(std::string_view path) {
  return "    location " + std::string(path) +
         " {\n"
         "      return 200 \"method=$request_method\\nuri=$request_uri\\nhost=$http_host\\n"
         "xff=$http_x_forwarded_for\\nproto=$http_x_forwarded_proto\\n"
         "request_id=$http_x_request_id\\nconnection=$connection\\n"
         "content_length=$content_length\\nconnection_header=$http_connection\\n\";\n"
         "    }\n";
}

std::string Nginx::echoBody(std::string_view path) {
  // nginx fills $request_body only where it proxies, so the location proxies to an internal
  // one of its own that returns the body it was handed in a header.
  std::string internal = "/__remora_echo_body" + std::string(path);
  return "    location = " + std::string(path) +
         " {\n"
         "      client_body_buffer_size 1m;\n"
         "      proxy_set_header X-Echo-Body $request_body;\n"
         "      proxy_pass http://127.0.0.1:$server_port" +
         internal +
         ";\n"
         "    }\n"
         "    location = " +
         internal +
         " {\n"
         "      return 200 \"$request_method body=$http_x_echo_body\";\n"
         "    }\n";
}

std::optional<std::string> Nginx::echoField(std::string_view body, std::string_view key) {
  std::string prefix = std::string(key) + "=";
  while (!body.empty()) {
    size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    if (line.substr(0, prefix.size()) == prefix) return std::string(line.substr(prefix.size()));
    if (eol == std::string_view::npos) break;
    body.remove_prefix(eol + 1);
  }
  return std::nullopt;
}

}  // namespace remora::harness

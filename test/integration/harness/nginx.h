// Nginx: Debian's stock nginx run as a real upstream with a generated config, all state in a
// temp dir.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "integration/harness/http.h"
#include "integration/harness/process.h"
#include "integration/harness/temp_dir.h"

namespace remora::harness {

// Serving HTTPS instead of HTTP: the server certificate and, to require client certificates,
// the CA they must chain to.
struct NginxTls {
  std::string cert;
  std::string key;
  std::string client_ca;  // "" : client certificates are not asked for
};

class Nginx {
 public:
  // Starts `/usr/sbin/nginx` (single process, no daemon) listening on a free 127.0.0.1 port with
  // `server_body` (nginx directives: locations) inside its one server block. Retries with another
  // port when the chosen one was taken meanwhile. Throws std::runtime_error (with nginx's error
  // log) when it cannot start.
  // `http2`: the listener speaks HTTP/2 (h2c prior knowledge, or h2 by ALPN with `tls`).
  explicit Nginx(const std::string& server_body, const std::optional<NginxTls>& tls = std::nullopt,
                 bool http2 = false);
  ~Nginx();

  // SIGKILL, as a crash would; the port stays this nginx's for restart().
  void kill();
  // Starts it again on the same port with the same config; false (with the log in `error`) when
  // it did not come up.
  bool restart(std::string* error = nullptr);

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:port"
  std::string errorLog() const;
  std::string accessLog() const;
  const TempDir& dir() const { return dir_; }

  // Location snippets to concatenate into `server_body`:
  // `path` (exact match) answers `status` with `body`, plus `headers` (add_header ... always).
  static std::string fixed(std::string_view path, int status, std::string_view body,
                           const HeaderList& headers = {});
  // Prefix `path` answers 200 with "key=value" lines describing the request (see echoField).
  static std::string echo(std::string_view path);
  // Exact `path` answers 200 with "METHOD body=<request body>" (the body must fit in one line).
  static std::string echoBody(std::string_view path);
  // A field of an echo() body: method, uri, host, xff, proto, request_id, connection (nginx's
  // connection serial number), content_length, connection_header.
  static std::optional<std::string> echoField(std::string_view body, std::string_view key);

 private:
  // Runs nginx on `port_` with the config file written already; true once it accepts.
  bool launch();

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace remora::harness

// TLS contexts: one OpenSSL SSL_CTX per TLS listener (server) or TLS cluster (client), built once
// per prepared config from the files the config names.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/result.h"

namespace remora {

// What a listener lets clients negotiate through ALPN, in order of preference.
std::vector<std::string> listenerAlpn(config::HttpProtocol protocol);
// What remora offers an upstream through ALPN.
inline const std::vector<std::string> kClusterAlpn = {"http/1.1"};

// A file a context was built from and a hash of the bytes it had, so that a reload can tell
// whether a certificate changed even when the config text did not.
struct TlsFileFingerprint {
  std::string path;
  size_t hash = 0;
};

// True when any of the files now reads differently (or cannot be read).
bool tlsFilesChanged(const std::vector<TlsFileFingerprint>& files);

// OpenSSL's thread-local error queue as one line of reasons (emptied), or `fallback` when empty.
std::string tlsErrorReason(std::string_view fallback = "unknown TLS error");

class TlsServerContext {
 public:
  // `owner` names the listener in messages; errors carry the place of the `tls:` key.
  static Result<std::shared_ptr<const TlsServerContext>> create(
      const config::TlsServer& config, std::string_view owner,
      const std::vector<std::string>& alpn);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Each SSL made from it holds its own reference, so connections outlive this object.
  SSL_CTX* get() const { return ctx_; }
  const std::vector<TlsFileFingerprint>& files() const { return files_; }

 private:
  TlsServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::vector<TlsFileFingerprint> files_;
};

class TlsClientContext {
 public:
  static Result<std::shared_ptr<const TlsClientContext>> create(
      const config::TlsClient& config, std::string_view owner,
      const std::vector<std::string>& alpn = kClusterAlpn);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // The name sent as SNI and required in the upstream's certificate; "" for neither.
  const std::string& sni() const { return sni_; }
  // Unique per process: pooled connections made with one context are never handed out for
  // another (other CA, other name, other client certificate).
  uint64_t id() const { return id_; }
  const std::vector<TlsFileFingerprint>& files() const { return files_; }

 private:
  TlsClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::string sni_;
  uint64_t id_ = 0;
  std::vector<TlsFileFingerprint> files_;
};

}  // namespace remora

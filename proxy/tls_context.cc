// Building SSL_CTX objects from PEM files, with every problem reported at the config's `tls:` key.
#include "proxy/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

namespace remora {
namespace {

// TLS 1.2 only: forward secrecy with AEAD ciphers. TLS 1.3 keeps OpenSSL's own suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr unsigned char kSessionContext[] = "remora";

// Keys are never encrypted for a sidecar (the secret store protects them); without this callback
// OpenSSL would prompt on the terminal for a passphrase.
int noPassphrase(char*, int, int, void*) { return -1; }

std::string wireFormat(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) continue;
    wire += static_cast<char>(protocol.size());
    wire += protocol;
  }
  return wire;
}

// The allowed ALPN list lives with the SSL_CTX (not with our wrapper), because a handshake in
// progress keeps the SSL_CTX alive after a reload has dropped the wrapper.
void freeAlpn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int alpnIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &freeAlpn);
  return index;
}

// Picks our most preferred protocol among those the client offers; `in` is the client's list.
int selectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
               const unsigned char* in, unsigned int in_length, void*) {
  const auto* allowed =
      static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), alpnIndex()));
  if (allowed == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::string_view ours(*allowed);
  while (!ours.empty()) {
    const size_t length = static_cast<unsigned char>(ours[0]);
    std::string_view wanted = ours.substr(1, length);
    ours.remove_prefix(std::min(ours.size(), 1 + length));
    for (unsigned int i = 0; i < in_length;) {
      const unsigned int offered = in[i];
      if (i + 1 + offered > in_length) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), offered) == wanted) {
        *out = in + i + 1;
        *out_length = static_cast<unsigned char>(offered);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + offered;
    }
  }
  // No protocol in common: carry on without ALPN rather than fail; HTTP/1.1 is then implied.
  return SSL_TLSEXT_ERR_NOACK;
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Reading the end of a PEM stream reports "no start line"; that is where a list of certificates
// ends, not an error.
bool onlyEndOfPem() {
  const unsigned long error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) != ERR_LIB_PEM || ERR_GET_REASON(error) != PEM_R_NO_START_LINE) {
    return false;
  }
  ERR_clear_error();
  return true;
}

// Loads the files of one context and collects what goes wrong, each message naming the file.
class Builder {
 public:
  Builder(SourceLocation where, std::string_view owner) : where_(std::move(where)), owner_(owner) {}

  std::optional<std::string> read(std::string_view role, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      fail(role, path, std::string("cannot open: ") + std::strerror(errno));
      return std::nullopt;
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    files_.push_back({path, std::hash<std::string>{}(text)});
    return text;
  }

  void fail(std::string_view role, const std::string& path, const std::string& message) {
    errors_.push_back(
        {where_, owner_ + ": tls " + std::string(role) + " '" + path + "': " + message});
  }
  void fail(const std::string& message) {
    errors_.push_back({where_, owner_ + ": tls: " + message});
  }

  SSL_CTX* newContext(const SSL_METHOD* method) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(method);
    if (ctx == nullptr) {
      fail("cannot create a context: " + tlsErrorReason());
      return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // Writes come straight from the output evbuffer's chains, which move and grow between a
    // write that could not finish and its retry; idle connections give their buffers back.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
      fail("cannot set the ciphers: " + tlsErrorReason());
    }
    return ctx;
  }

  // A certificate (then its chain) and the key that goes with it.
  void useCertificate(SSL_CTX* ctx, const std::string& cert_path, const std::string& key_path) {
    std::optional<std::string> cert = read("cert", cert_path);
    std::optional<std::string> key = read("key", key_path);
    bool cert_ok = false;
    if (cert) {
      ERR_clear_error();
      BioPtr bio = memoryBio(*cert);
      X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, &noPassphrase, nullptr);
      if (leaf == nullptr) {
        fail("cert", cert_path, "not a PEM certificate (" + tlsErrorReason() + ")");
      } else {
        cert_ok = SSL_CTX_use_certificate(ctx, leaf) == 1;
        X509_free(leaf);
        if (!cert_ok) fail("cert", cert_path, "unusable: " + tlsErrorReason());
        SSL_CTX_clear_chain_certs(ctx);
        while (cert_ok) {
          X509* intermediate = PEM_read_bio_X509(bio.get(), nullptr, &noPassphrase, nullptr);
          if (intermediate == nullptr) break;
          if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
            X509_free(intermediate);
            fail("cert", cert_path, "bad chain certificate: " + tlsErrorReason());
            cert_ok = false;
          }
        }
        if (cert_ok && !onlyEndOfPem()) {
          fail("cert", cert_path, "bad chain certificate: " + tlsErrorReason());
          cert_ok = false;
        }
      }
    }
    if (!key) return;
    ERR_clear_error();
    BioPtr bio = memoryBio(*key);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, &noPassphrase, nullptr);
    if (pkey == nullptr) {
      fail("key", key_path, "not an unencrypted PEM private key (" + tlsErrorReason() + ")");
      return;
    }
    const bool used = SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!cert_ok) return;
    if (!used || SSL_CTX_check_private_key(ctx) != 1) {
      fail("key", key_path, "does not match cert '" + cert_path + "' (" + tlsErrorReason() + ")");
    }
    ERR_clear_error();
  }

  // Trusts the CA certificates in `path`; their names, when `names` is given, are what a server
  // tells clients it accepts.
  void trust(SSL_CTX* ctx, const std::string& path, STACK_OF(X509_NAME) * names) {
    std::optional<std::string> pem = read("ca", path);
    if (!pem) return;
    ERR_clear_error();
    BioPtr bio = memoryBio(*pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, &noPassphrase, nullptr)) {
      ++count;
      if (names != nullptr) sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert)));
      const bool added = X509_STORE_add_cert(store, cert) == 1;
      X509_free(cert);
      if (!added) {
        fail("ca", path, "unusable certificate: " + tlsErrorReason());
        return;
      }
    }
    if (count == 0) {
      fail("ca", path, "no PEM certificate in it (" + tlsErrorReason() + ")");
    } else if (!onlyEndOfPem()) {
      fail("ca", path, "not a list of PEM certificates (" + tlsErrorReason() + ")");
    }
  }

  bool ok() const { return errors_.empty(); }
  std::vector<Error> takeErrors() { return std::move(errors_); }
  std::vector<TlsFileFingerprint> takeFiles() { return std::move(files_); }

 private:
  SourceLocation where_;
  std::string owner_;
  std::vector<Error> errors_;
  std::vector<TlsFileFingerprint> files_;
};

std::atomic<uint64_t> next_client_id{1};

}  // namespace

bool tlsFilesChanged(const std::vector<TlsFileFingerprint>& files) {
  for (const TlsFileFingerprint& file : files) {
    std::ifstream in(file.path, std::ios::binary);
    if (!in) return true;
    std::ostringstream content;
    content << in.rdbuf();
    if (std::hash<std::string>{}(content.str()) != file.hash) return true;
  }
  return false;
}

std::string tlsErrorReason(std::string_view fallback) {
  std::string out;
  std::string last;
  while (const unsigned long error = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(error);
    std::string text;
    if (reason != nullptr) {
      text = reason;
    } else {
      char buffer[256];
      ERR_error_string_n(error, buffer, sizeof(buffer));
      text = buffer;
    }
    if (text == last) continue;
    if (!out.empty()) out += "; ";
    out += text;
    last = std::move(text);
  }
  return out.empty() ? std::string(fallback) : out;
}

std::vector<std::string> listenerAlpn(config::HttpProtocol protocol) {
  switch (protocol) {
    case config::HttpProtocol::Auto:
      return {"h2", "http/1.1"};
    case config::HttpProtocol::Http1:
      return {"http/1.1"};
    case config::HttpProtocol::Http2:
      return {"h2"};
  }
  return {"http/1.1"};
}

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::create(
    const config::TlsServer& config, std::string_view owner, const std::vector<std::string>& alpn) {
  Builder builder(config.location, owner);
  SSL_CTX* ctx = builder.newContext(TLS_server_method());
  if (ctx == nullptr) return builder.takeErrors();
  std::shared_ptr<TlsServerContext> context(new TlsServerContext());
  context->ctx_ = ctx;
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Resumption through tickets only: a server-side session cache would be one more lock that
  // every worker's handshakes share. The id context is still required with client certificates.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  builder.useCertificate(ctx, config.cert, config.key);
  if (!config.ca.empty()) {
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    builder.trust(ctx, config.ca, names);
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_ex_data(ctx, alpnIndex(), new std::string(wireFormat(alpn)));
  SSL_CTX_set_alpn_select_cb(ctx, &selectAlpn, nullptr);
  context->files_ = builder.takeFiles();
  if (!builder.ok()) return builder.takeErrors();
  return std::shared_ptr<const TlsServerContext>(std::move(context));
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::create(
    const config::TlsClient& config, std::string_view owner, const std::vector<std::string>& alpn) {
  Builder builder(config.location, owner);
  SSL_CTX* ctx = builder.newContext(TLS_client_method());
  if (ctx == nullptr) return builder.takeErrors();
  std::shared_ptr<TlsClientContext> context(new TlsClientContext());
  context->ctx_ = ctx;
  context->sni_ = config.sni;
  context->id_ = next_client_id.fetch_add(1, std::memory_order_relaxed);
  builder.trust(ctx, config.ca, nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!config.cert.empty()) builder.useCertificate(ctx, config.cert, config.key);
  const std::string wire = wireFormat(alpn);
  // Unlike most of OpenSSL, 0 means success here.
  if (!wire.empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size())) != 0) {
    builder.fail("cannot set ALPN: " + tlsErrorReason());
  }
  context->files_ = builder.takeFiles();
  if (!builder.ok()) return builder.takeErrors();
  return std::shared_ptr<const TlsClientContext>(std::move(context));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

}  // namespace remora

// Certs: a throwaway PKI for the TLS tests, made with the `openssl` command line in a temp dir.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "integration/harness/temp_dir.h"

namespace remora::harness {

struct CertFiles {
  std::string cert;    // PEM certificate
  std::string key;     // PEM private key (unencrypted)
  std::string serial;  // as `openssl x509 -serial` prints it, upper-case hex
};

// Every certificate is an EC P-256 one valid for two days from now. Throws std::runtime_error
// (with openssl's output) when a command fails.
class TestPki {
 public:
  TestPki();

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string ca() const { return ca_.cert; }          // the CA everything below chains to
  const CertFiles& server() const { return server_; }  // CN=localhost, DNS:localhost, IP:127.0.0.1
  const CertFiles& client() const { return client_; }  // CN=client, for client auth
  const CertFiles& wrongName() const { return wrong_; }   // signed by ca(), for wrong.example only
  std::string otherCa() const { return other_ca_.cert; }  // an unrelated CA
  const CertFiles& otherClient() const { return other_client_; }  // client cert of otherCa()

  // Issues a certificate from ca() named `name` (its file stem in dir()) with the given
  // subjectAltName entries ("DNS:localhost", "IP:127.0.0.1").
  CertFiles issue(const std::string& name, const std::vector<std::string>& sans);

 private:
  CertFiles makeCa(const std::string& name);
  CertFiles issueFrom(const CertFiles& ca, const std::string& name,
                      const std::vector<std::string>& sans);

  TempDir dir_;
  int next_serial_ = 0x1000;
  CertFiles ca_;
  CertFiles other_ca_;
  CertFiles server_;
  CertFiles client_;
  CertFiles wrong_;
  CertFiles other_client_;
};

// The serial number of the certificate in `pem_path`, as TestPki reports them.
std::string certSerial(const std::string& pem_path);

// One PKI for the whole test binary, made on first use: making one takes a few dozen openssl
// runs.
TestPki& pki();

// A listener's `tls:` block in flow YAML serving `cert`, requiring client certificates from `ca`
// when given.
std::string serverTlsYaml(const CertFiles& cert, const std::string& ca = "");

}  // namespace remora::harness

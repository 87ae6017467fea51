// TestPki: CA and leaf certificates through `openssl req` and `openssl x509`.
#include <stdexcept>

#include "integration/harness/certs.h"
#include "integration/harness/process.h"

namespace remora::harness {
namespace {

std::string run(const std::vector<std::string>& argv) {
  CommandResult result = runCommand(argv, deadlineIn(std::chrono::seconds(20)));
  if (result.exit_code != 0) {
    std::string command;
    for (const std::string& arg : argv) command += arg + " ";
    throw std::runtime_error("TestPki: `" + command + "` failed: " + result.out + result.err);
  }
  return result.out;
}

std::vector<std::string> newEcKey() {
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
}

}  // namespace

std::string certSerial(const std::string& pem_path) {
  std::string out = run({"openssl", "x509", "-noout", "-serial", "-in", pem_path});
  // "serial=1001\n"
  const size_t equals = out.find('=');
  std::string serial = equals == std::string::npos ? out : out.substr(equals + 1);
  while (!serial.empty() && (serial.back() == '\n' || serial.back() == '\r')) serial.pop_back();
  return serial;
}

TestPki::TestPki() {
  ca_ = makeCa("ca");
  other_ca_ = makeCa("other-ca");
  server_ = issue("server", {"DNS:localhost", "IP:127.0.0.1"});
  client_ = issue("client", {"DNS:client"});
  wrong_ = issue("wrong-name", {"DNS:wrong.example"});
  other_client_ = issueFrom(other_ca_, "other-client", {"DNS:client"});
}

CertFiles TestPki::makeCa(const std::string& name) {
  CertFiles ca;
  ca.cert = dir_.file(name + ".pem").string();
  ca.key = dir_.file(name + ".key").string();
  std::vector<std::string> argv{"openssl", "req", "-x509"};
  for (const std::string& arg : newEcKey()) argv.push_back(arg);
  const std::string subject = "/CN=remora test " + name;
  for (const char* arg : {"-keyout", ca.key.c_str(), "-out", ca.cert.c_str(), "-days", "2", "-subj",
                          subject.c_str(), "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign"}) {
    argv.push_back(arg);
  }
  run(argv);
  ca.serial = certSerial(ca.cert);
  return ca;
}

CertFiles TestPki::issue(const std::string& name, const std::vector<std::string>& sans) {
  return issueFrom(ca_, name, sans);
}

CertFiles TestPki::issueFrom(const CertFiles& ca, const std::string& name,
                             const std::vector<std::string>& sans) {
  CertFiles leaf;
  leaf.cert = dir_.file(name + ".pem").string();
  leaf.key = dir_.file(name + ".key").string();
  const std::string csr = dir_.file(name + ".csr").string();
  const std::string extensions = dir_.file(name + ".ext").string();
  std::string san;
  for (const std::string& entry : sans) san += (san.empty() ? "" : ",") + entry;
  writeFile(extensions,
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            "subjectAltName=" +
                san + "\n");
  std::vector<std::string> request{"openssl", "req", "-new"};
  for (const std::string& arg : newEcKey()) request.push_back(arg);
  for (const std::string& arg : {std::string("-keyout"), leaf.key, std::string("-out"), csr,
                                 std::string("-subj"), "/CN=" + name}) {
    request.push_back(arg);
  }
  run(request);
  leaf.serial = std::to_string(next_serial_++);
  run({"openssl", "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-set_serial",
       leaf.serial, "-days", "2", "-extfile", extensions, "-out", leaf.cert});
  leaf.serial = certSerial(leaf.cert);
  return leaf;
}

TestPki& pki() {
  static TestPki* const kPki = new TestPki();
  return *kPki;
}

std::string serverTlsYaml(const CertFiles& cert, const std::string& ca) {
  std::string out = "{cert: \"" + cert.cert + "\", key: \"" + cert.key + "\"";
  if (!ca.empty()) out += ", ca: \"" + ca + "\"";
  return out + "}";
}

}  // namespace remora::harness

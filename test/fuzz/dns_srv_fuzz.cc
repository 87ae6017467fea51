// libFuzzer target for the raw DNS answer decoding behind the dns registry (TTLs, glue, SRV
// records) and the SRV -> endpoint mapping, aborting when an invariant breaks.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "discovery/dns/dns_answer.h"
#include "discovery/dns/srv_order.h"

namespace remora::discovery::dns {
namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool isIp(const std::string& text) {
  unsigned char storage[16];
  return inet_pton(AF_INET, text.c_str(), storage) == 1 ||
         inet_pton(AF_INET6, text.c_str(), storage) == 1;
}

void checkExtras(const unsigned char* data, size_t size) {
  AnswerExtras extras;
  std::string error;
  if (!parseAnswerExtras(data, size, extras, error)) {
    check(!error.empty());
    return;
  }
  check(extras.srv_ttl.has_value() == (extras.srv_records > 0));
  if (extras.srv_ttl) check(*extras.srv_ttl < 0x80000000u);
  if (extras.negative_ttl) check(*extras.negative_ttl < 0x80000000u);
  for (const GlueAddress& glue : extras.glue) {
    check(isIp(glue.ip));
    check(glue.ttl < 0x80000000u);
  }
}

void checkSrv(const unsigned char* data, size_t size) {
  SrvAnswer answer;
  std::string error;
  if (!decodeSrvAnswer(data, size, answer, error)) {
    check(!error.empty());
    return;
  }
  // Both walks saw the same answer section: c-ares' record list and our TTL walk agree on it.
  AnswerExtras extras;
  check(parseAnswerExtras(data, size, extras, error));
  check(answer.records.size() == extras.srv_records);
  check(answer.ttl.has_value() == !answer.records.empty());
  uint16_t lowest_usable = UINT16_MAX;
  for (const SrvRecord& record : answer.records) {
    check(!record.target.empty());
    if (record.target == ".") check(record.addresses.empty());
    for (const std::string& ip : record.addresses) check(isIp(ip));
    if (record.target != "." && !record.addresses.empty() && record.priority < lowest_usable) {
      lowest_usable = record.priority;
    }
  }
  for (const RegistryEndpoint& endpoint : srvEndpoints(answer.records)) {
    check(endpoint.endpoint.weight >= 1);
    check(isIp(endpoint.endpoint.address.host));
    const bool lowest = endpoint.endpoint.meta.at("priority") == std::to_string(lowest_usable);
    check(endpoint.healthy == lowest);
    check(endpoint.health_reason.empty() == lowest);
  }
}

}  // namespace
}  // namespace remora::discovery::dns

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  remora::discovery::dns::checkExtras(data, size);
  remora::discovery::dns::checkSrv(data, size);
  return 0;
}

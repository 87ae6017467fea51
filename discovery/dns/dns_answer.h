// DnsAnswer: decoding raw DNS answers, with what c-ares' reply parsers leave out: TTLs and glue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "discovery/dns/srv_record.h"

namespace remora::discovery::dns {

// An A or AAAA record of the additional section: the "glue" a server sends along with SRV
// records so that their targets need no query of their own.
struct GlueAddress {
  std::string name;  // the owner, as ares_expand_name spells it (no trailing dot)
  std::string ip;    // inet_ntop text
  uint32_t ttl = 0;
};

struct AnswerExtras {
  int rcode = 0;
  uint32_t srv_records = 0;         // IN SRV records in the answer section
  std::optional<uint32_t> srv_ttl;  // the smallest of their TTLs
  // RFC 2308 section 5: a negative answer may be cached for min(SOA TTL, SOA MINIMUM) of the
  // authority section's SOA; absent when the server sent none (dnsmasq does not).
  std::optional<uint32_t> negative_ttl;
  std::vector<GlueAddress> glue;  // IN A / AAAA records of the additional section
};

// Walks the whole message: header, the one question, and every record of the answer, authority
// and additional sections, checking each length against the buffer. False with `error` when
// anything does not fit, there is not exactly one question, or an A/AAAA/SRV/SOA record has
// impossible data. Bytes after the last record are ignored, as c-ares ignores them.
bool parseAnswerExtras(const unsigned char* message, size_t length, AnswerExtras& out,
                       std::string& error);

struct SrvAnswer {
  std::vector<SrvRecord> records;  // empty: the answer had no SRV record (a CNAME alone)
  // The smallest TTL of the SRV records and of the glue used; absent without records.
  std::optional<uint32_t> ttl;
  std::optional<uint32_t> negative_ttl;  // as in AnswerExtras, for an answer without records
};

// Decodes a NOERROR answer to an SRV query: ares_parse_srv_reply for the records (it drops their
// TTLs), parseAnswerExtras over the same bytes for the TTLs and the glue, each target given the
// glue addresses whose owner is its name (case-insensitively). Both decode names with
// ares_expand_name, so a target and its glue's owner are spelled alike. A root target ("") is
// written ".". False with `error` on a malformed message.
bool decodeSrvAnswer(const unsigned char* message, size_t length, SrvAnswer& out,
                     std::string& error);

// RFC 2181 section 8: a TTL with the top bit set is to be treated as zero.
constexpr uint32_t normalizeTtl(uint32_t ttl) { return (ttl & 0x80000000u) ? 0 : ttl; }

}  // namespace remora::discovery::dns

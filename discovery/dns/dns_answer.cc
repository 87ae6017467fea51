// Decoding raw DNS answers: a walk that checks every offset before reading, joined with c-ares'.
#include "discovery/dns/dns_answer.h"

#include <ares.h>
#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <string_view>

namespace remora::discovery::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxMessage = 65535;  // a DNS message's length is 16 bits even over TCP
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeSrv = 33;
constexpr uint16_t kClassIn = 1;
constexpr size_t kSrvFixedSize = 6;     // priority, weight, port; the target name follows
constexpr size_t kSoaNumbersSize = 20;  // serial, refresh, retry, expire, minimum after 2 names

struct AresStringFree {
  void operator()(char* s) const { ares_free_string(s); }
};
struct AresDataFree {
  void operator()(void* data) const { ares_free_data(data); }
};

class Reader {
 public:
  Reader(const unsigned char* message, size_t length) : message_(message), length_(length) {}

  size_t offset() const { return offset_; }
  size_t left() const { return length_ - offset_; }

  // c-ares' own expander follows compression pointers within the buffer and rejects loops, so
  // names are decoded exactly as ares_parse_srv_reply decodes the targets they are matched to.
  bool name(std::string* out) {
    if (offset_ >= length_) return false;
    char* expanded = nullptr;
    long used = 0;
    if (ares_expand_name(message_ + offset_, message_, static_cast<int>(length_), &expanded,
                         &used) != ARES_SUCCESS) {
      return false;
    }
    std::unique_ptr<char, AresStringFree> owner(expanded);
    if (used <= 0 || static_cast<size_t>(used) > left()) return false;
    if (out) *out = expanded;
    offset_ += static_cast<size_t>(used);
    return true;
  }

  bool u16(uint16_t& value) {
    if (left() < 2) return false;
    value = static_cast<uint16_t>(message_[offset_] << 8 | message_[offset_ + 1]);
    offset_ += 2;
    return true;
  }

  bool u32(uint32_t& value) {
    if (left() < 4) return false;
    value = static_cast<uint32_t>(message_[offset_]) << 24 |
            static_cast<uint32_t>(message_[offset_ + 1]) << 16 |
            static_cast<uint32_t>(message_[offset_ + 2]) << 8 | message_[offset_ + 3];
    offset_ += 4;
    return true;
  }

  bool skip(size_t count) {
    if (left() < count) return false;
    offset_ += count;
    return true;
  }

  const unsigned char* at(size_t offset) const { return message_ + offset; }

 private:
  const unsigned char* message_;
  size_t length_;
  size_t offset_ = 0;
};

enum class Section { Answer, Authority, Additional };

const char* sectionName(Section section) {
  static constexpr const char* kNames[] = {"answer", "authority", "additional"};
  return kNames[static_cast<int>(section)];
}

void keepSmaller(std::optional<uint32_t>& kept, uint32_t ttl) {
  kept = kept ? std::min(*kept, ttl) : ttl;
}

// DNS names compare case-insensitively (RFC 4343), and servers may echo either spelling.
bool sameName(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// One resource record at the reader's position; false with `error` when it is malformed.
bool readRecord(Reader& reader, Section section, AnswerExtras& out, std::string& error) {
  const size_t start = reader.offset();
  std::string owner;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  uint16_t data_length = 0;
  // Only glue needs its owner spelled out; for the others the name is just stepped over.
  if (!reader.name(section == Section::Additional ? &owner : nullptr) || !reader.u16(type) ||
      !reader.u16(klass) || !reader.u32(ttl) || !reader.u16(data_length)) {
    error = std::string("truncated record in the ") + sectionName(section) + " section at byte " +
            std::to_string(start);
    return false;
  }
  const size_t data = reader.offset();
  if (!reader.skip(data_length)) {
    error = std::string("record data past the end in the ") + sectionName(section) +
            " section at byte " + std::to_string(start);
    return false;
  }
  if (klass != kClassIn) return true;
  ttl = normalizeTtl(ttl);
  if (section == Section::Answer && type == kTypeSrv) {
    if (data_length < kSrvFixedSize) {
      error = "SRV record shorter than 6 bytes at byte " + std::to_string(start);
      return false;
    }
    ++out.srv_records;
    keepSmaller(out.srv_ttl, ttl);
  } else if (section == Section::Authority && type == kTypeSoa) {
    // MINIMUM is the last field; the two names before it may be compressed, so it is read from
    // the end of the data rather than by decoding them.
    if (data_length < kSoaNumbersSize + 2) {
      error = "SOA record too short at byte " + std::to_string(start);
      return false;
    }
    const unsigned char* minimum = reader.at(data + data_length - 4);
    const uint32_t negative = normalizeTtl(static_cast<uint32_t>(minimum[0]) << 24 |
                                           static_cast<uint32_t>(minimum[1]) << 16 |
                                           static_cast<uint32_t>(minimum[2]) << 8 | minimum[3]);
    keepSmaller(out.negative_ttl, std::min(ttl, negative));
  } else if (section == Section::Additional && (type == kTypeA || type == kTypeAaaa)) {
    const size_t size = type == kTypeA ? 4 : 16;
    if (data_length != size) {
      error = std::string(type == kTypeA ? "A" : "AAAA") + " record of " +
              std::to_string(data_length) + " bytes at byte " + std::to_string(start);
      return false;
    }
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(type == kTypeA ? AF_INET : AF_INET6, reader.at(data), text, sizeof(text))) {
      error = "unprintable address at byte " + std::to_string(start);
      return false;
    }
    out.glue.push_back(GlueAddress{std::move(owner), text, ttl});
  }
  return true;
}

}  // namespace

bool parseAnswerExtras(const unsigned char* message, size_t length, AnswerExtras& out,
                       std::string& error) {
  out = AnswerExtras{};
  if (length < kHeaderSize) {
    error = "shorter than a DNS header";
    return false;
  }
  if (length > kMaxMessage) {
    error = "longer than 65535 bytes";
    return false;
  }
  Reader reader(message, length);
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t questions = 0;
  uint16_t counts[3] = {0, 0, 0};
  reader.u16(id);
  reader.u16(flags);
  reader.u16(questions);
  for (uint16_t& count : counts) reader.u16(count);
  out.rcode = flags & 0x0f;
  if (questions != 1) {
    error = std::to_string(questions) + " questions, expected 1";
    return false;
  }
  if (!reader.name(nullptr) || !reader.skip(4)) {
    error = "truncated question";
    return false;
  }
  const Section sections[3] = {Section::Answer, Section::Authority, Section::Additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s]; ++i) {
      if (!readRecord(reader, sections[s], out, error)) return false;
    }
  }
  return true;
}

bool decodeSrvAnswer(const unsigned char* message, size_t length, SrvAnswer& out,
                     std::string& error) {
  out = SrvAnswer{};
  AnswerExtras extras;
  if (!parseAnswerExtras(message, length, extras, error)) return false;
  out.negative_ttl = extras.negative_ttl;
  ares_srv_reply* replies = nullptr;
  const int status = ares_parse_srv_reply(message, static_cast<int>(length), &replies);
  std::unique_ptr<ares_srv_reply, AresDataFree> owner(replies);
  if (status == ARES_ENODATA) return true;
  if (status != ARES_SUCCESS) {
    error = std::string("SRV records: ") + ares_strerror(status);
    return false;
  }
  out.ttl = extras.srv_ttl;
  for (const ares_srv_reply* reply = replies; reply; reply = reply->next) {
    SrvRecord record;
    record.priority = reply->priority;
    record.weight = reply->weight;
    record.port = reply->port;
    record.target = *reply->host ? reply->host : ".";  // the root name expands to ""
    for (const GlueAddress& glue : extras.glue) {
      if (record.target == "." || !sameName(glue.name, record.target)) continue;
      keepSmaller(out.ttl, glue.ttl);
      if (std::find(record.addresses.begin(), record.addresses.end(), glue.ip) ==
          record.addresses.end()) {
        record.addresses.push_back(glue.ip);
      }
    }
    out.records.push_back(std::move(record));
  }
  return true;
}

}  // namespace remora::discovery::dns

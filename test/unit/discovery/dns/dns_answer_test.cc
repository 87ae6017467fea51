// Tests for the raw DNS answer decoding: TTLs, glue, SOA negative TTLs and malformed messages.
#include "discovery/dns/dns_answer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>

namespace remora::discovery::dns {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<unsigned char> fromHex(std::string_view hex) {
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(
        static_cast<unsigned char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

// dnsmasq's answer to _users._tcp.test.local SRV (--local-ttl=7): u3 priority 20 weight 1, u2
// and u1 priority 10 weights 15 and 5, and glue: u2 127.0.0.12 and ::12, u1 127.0.0.11, u3
// 127.0.0.13, names compressed against the question and each other.
constexpr std::string_view kUsersAnswer =
    "123485800001000300000004065f7573657273045f7463700474657374056c6f63616c0000210001c00c002100"
    "01000000070015001400011f930275330474657374056c6f63616c00c00c00210001000000070015000a000f1f"
    "920275320474657374056c6f63616c00c00c00210001000000070015000a00051f910275310474657374056c6f"
    "63616c00c05b000100010000000700047f00000cc05b001c00010000000700100000000000000000000000000000"
    "0012c07c000100010000000700047f00000bc03a000100010000000700047f00000d";

// dnsmasq (authoritative for test.local) answering NXDOMAIN with an SOA: TTL 600, MINIMUM 600.
constexpr std::string_view kNxDomainWithSoa =
    "123485030001000000010000055f6e6f6e65045f7463700474657374056c6f63616c00002100010474657374056c"
    "6f63616c000006000100000258003a026e730474657374056c6f63616c000a686f73746d61737465720474657374"
    "056c6f63616c0000000001000004b0000000780012750000000258";

// An answer for "_s._tcp.x" SRV with one record: priority 1, weight 2, port 80, target "." and
// the given TTL and data length (7 is the true one).
std::vector<unsigned char> oneSrv(uint32_t ttl, uint16_t data_length = 7) {
  std::vector<unsigned char> m = fromHex(
      "000781800001000100000000"        // header: 1 question, 1 answer
      "025f73045f74637001780000210001"  // _s._tcp.x SRV IN
      "c00c00210001");                  // the record: the question's name, SRV IN
  for (int shift = 24; shift >= 0; shift -= 8)
    m.push_back(static_cast<unsigned char>(ttl >> shift));
  m.push_back(static_cast<unsigned char>(data_length >> 8));
  m.push_back(static_cast<unsigned char>(data_length & 0xff));
  const std::vector<unsigned char> data = fromHex("00010002005000");
  m.insert(m.end(), data.begin(), data.end());
  return m;
}

TEST(DnsAnswerTest, ReadsSrvTtlsAndGlue) {
  const std::vector<unsigned char> m = fromHex(kUsersAnswer);
  AnswerExtras extras;
  std::string error;
  ASSERT_TRUE(parseAnswerExtras(m.data(), m.size(), extras, error)) << error;
  EXPECT_EQ(extras.rcode, 0);
  EXPECT_EQ(extras.srv_records, 3u);
  EXPECT_EQ(extras.srv_ttl, 7u);
  EXPECT_FALSE(extras.negative_ttl);
  ASSERT_EQ(extras.glue.size(), 4u);
  EXPECT_EQ(extras.glue[0].name, "u2.test.local");
  EXPECT_EQ(extras.glue[0].ip, "127.0.0.12");
  EXPECT_EQ(extras.glue[1].ip, "::12");
  EXPECT_EQ(extras.glue[2].name, "u1.test.local");
  EXPECT_EQ(extras.glue[3].name, "u3.test.local");
  EXPECT_EQ(extras.glue[3].ttl, 7u);
}

TEST(DnsAnswerTest, DecodesSrvRecordsWithTheirGlue) {
  const std::vector<unsigned char> m = fromHex(kUsersAnswer);
  SrvAnswer answer;
  std::string error;
  ASSERT_TRUE(decodeSrvAnswer(m.data(), m.size(), answer, error)) << error;
  EXPECT_EQ(answer.ttl, 7u);
  ASSERT_EQ(answer.records.size(), 3u);
  EXPECT_EQ(answer.records[0].target, "u3.test.local");
  EXPECT_EQ(answer.records[0].priority, 20);
  EXPECT_EQ(answer.records[0].weight, 1);
  EXPECT_EQ(answer.records[0].port, 8083);
  EXPECT_THAT(answer.records[0].addresses, ElementsAre("127.0.0.13"));
  EXPECT_THAT(answer.records[1].addresses, ElementsAre("127.0.0.12", "::12"));
  EXPECT_THAT(answer.records[2].addresses, ElementsAre("127.0.0.11"));
}

TEST(DnsAnswerTest, NegativeTtlIsTheSmallerOfSoaTtlAndMinimum) {
  const std::vector<unsigned char> m = fromHex(kNxDomainWithSoa);
  AnswerExtras extras;
  std::string error;
  ASSERT_TRUE(parseAnswerExtras(m.data(), m.size(), extras, error)) << error;
  EXPECT_EQ(extras.rcode, 3);
  EXPECT_EQ(extras.negative_ttl, 600u);
  EXPECT_EQ(extras.srv_records, 0u);
}

TEST(DnsAnswerTest, RootTargetIsWrittenDot) {
  const std::vector<unsigned char> m = oneSrv(5);
  SrvAnswer answer;
  std::string error;
  ASSERT_TRUE(decodeSrvAnswer(m.data(), m.size(), answer, error)) << error;
  ASSERT_EQ(answer.records.size(), 1u);
  EXPECT_EQ(answer.records[0].target, ".");
  EXPECT_THAT(answer.records[0].addresses, IsEmpty());
  EXPECT_EQ(answer.ttl, 5u);
}

TEST(DnsAnswerTest, TtlWithTheTopBitSetCountsAsZero) {
  const std::vector<unsigned char> m = oneSrv(0x80000005u);
  AnswerExtras extras;
  std::string error;
  ASSERT_TRUE(parseAnswerExtras(m.data(), m.size(), extras, error)) << error;
  EXPECT_EQ(extras.srv_ttl, 0u);
}

TEST(DnsAnswerTest, EveryTruncationIsRejected) {
  const std::vector<unsigned char> m = fromHex(kUsersAnswer);
  for (size_t length = 0; length < m.size(); ++length) {
    // A copy of exactly `length` bytes, so that reading past it is caught by sanitizers too.
    const std::vector<unsigned char> prefix(m.begin(), m.begin() + static_cast<long>(length));
    AnswerExtras extras;
    SrvAnswer answer;
    std::string error;
    EXPECT_FALSE(parseAnswerExtras(prefix.data(), prefix.size(), extras, error)) << length;
    EXPECT_FALSE(decodeSrvAnswer(prefix.data(), prefix.size(), answer, error)) << length;
  }
}

TEST(DnsAnswerTest, RejectsMalformedMessages) {
  AnswerExtras extras;
  std::string error;
  // The question's name points at itself.
  const std::vector<unsigned char> loop = fromHex("000781800001000000000000c00c00210001");
  EXPECT_FALSE(parseAnswerExtras(loop.data(), loop.size(), extras, error));
  EXPECT_THAT(error, HasSubstr("question"));
  // Record data longer than the message.
  const std::vector<unsigned char> long_data = oneSrv(5, 200);
  EXPECT_FALSE(parseAnswerExtras(long_data.data(), long_data.size(), extras, error));
  EXPECT_THAT(error, HasSubstr("past the end"));
  // An SRV record too short for priority, weight and port.
  std::vector<unsigned char> short_srv = oneSrv(5, 4);
  short_srv.resize(short_srv.size() - 3);
  EXPECT_FALSE(parseAnswerExtras(short_srv.data(), short_srv.size(), extras, error));
  EXPECT_THAT(error, HasSubstr("shorter than 6"));
  // Two questions.
  std::vector<unsigned char> two = oneSrv(5);
  two[5] = 2;
  EXPECT_FALSE(parseAnswerExtras(two.data(), two.size(), extras, error));
  EXPECT_THAT(error, HasSubstr("2 questions"));
}

}  // namespace
}  // namespace remora::discovery::dns

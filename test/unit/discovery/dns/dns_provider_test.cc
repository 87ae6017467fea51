// Tests for the dns registry and its c-ares channel against a real dnsmasq.
#include "discovery/dns/dns_provider.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery/dns/ares_channel.h"
#include "test/unit/discovery/dns/dnsmasq.h"

namespace remora::discovery::dns {
namespace {

using ::remora::dnstest::Dnsmasq;
using ::remora::dnstest::runUntil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::chrono::milliseconds kLimit{4000};

const std::vector<std::string> kUsers = {
    "--srv-host=_users._tcp.test.local,u1.test.local,8081,10,5",
    "--srv-host=_users._tcp.test.local,u2.test.local,8082,10,15",
    "--srv-host=_users._tcp.test.local,u3.test.local,8083,20,1",
    "--host-record=u1.test.local,127.0.0.11",
    "--host-record=u2.test.local,127.0.0.12,::12",
    "--host-record=u3.test.local,127.0.0.13",
};

std::vector<std::string> with(std::vector<std::string> base, std::vector<std::string> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// "host:port weight healthy|reason" per endpoint, for compact expectations.
std::vector<std::string> describe(const std::vector<RegistryEndpoint>& endpoints) {
  std::vector<std::string> lines;
  for (const RegistryEndpoint& e : endpoints) {
    lines.push_back(e.endpoint.address.text() + " " + std::to_string(e.endpoint.weight) + " " +
                    (e.healthy ? "healthy" : e.health_reason));
  }
  return lines;
}

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override { base_ = event_base_new(); }
  void TearDown() override {
    provider_.reset();
    channel_.reset();
    event_base_free(base_);
  }

  void startServer(const std::vector<std::string>& records) {
    const std::string error = dnsmasq_.start(records);
    ASSERT_EQ(error, "") << error;
  }

  config::DnsRegistry registry(std::chrono::milliseconds min_ttl = std::chrono::milliseconds(1000),
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
    config::DnsRegistry config;
    config.servers = {config::Address{"127.0.0.1", dnsmasq_.port()}};
    config.domain = "test.local";
    config.min_ttl = min_ttl;
    config.timeout = timeout;
    return config;
  }

  void makeProvider(const config::DnsRegistry& config) {
    ProviderCallbacks callbacks;
    callbacks.on_view = [this](RegistryView view) { views_.push_back(std::move(view)); };
    callbacks.on_error = [this](const std::string& error) { errors_.push_back(error); };
    provider_ = std::make_unique<DnsProvider>(base_, config, std::move(callbacks));
  }

  bool waitForViews(size_t count) {
    return runUntil(
        base_, [&] { return views_.size() >= count; }, kLimit);
  }

  event_base* base_ = nullptr;
  Dnsmasq dnsmasq_;
  std::unique_ptr<DnsProvider> provider_;
  std::unique_ptr<AresChannel> channel_;
  std::vector<RegistryView> views_;
  std::vector<std::string> errors_;
};

TEST(DnsProviderNameTest, QueryNames) {
  EXPECT_EQ(DnsProvider::queryName("users", "service.consul"), "_users._tcp.service.consul");
  EXPECT_EQ(DnsProvider::queryName("users", ""), "_users._tcp");
  EXPECT_EQ(DnsProvider::queryName("_grpc._tcp.users", "test.local"),
            "_grpc._tcp.users.test.local");
  EXPECT_EQ(DnsProvider::queryName("_users._udp.example.com.", "test.local"),
            "_users._udp.example.com.");
  EXPECT_EQ(DnsProvider::queryName("_users._tcp", ""), "_users._tcp");
}

TEST_F(DnsTest, TwoPrioritiesWeightsAndAddresses) {
  startServer(kUsers);
  makeProvider(registry());
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  const RegistryView& view = views_[0];
  EXPECT_EQ(view.source, "dns");
  ASSERT_EQ(view.services.size(), 1u);
  const std::vector<RegistryEndpoint>& users = view.services.at("users");
  EXPECT_THAT(describe(users), ElementsAre("127.0.0.11:8081 500 healthy",
                                           "127.0.0.12:8082 750 healthy", "[::12]:8082 750 healthy",
                                           "127.0.0.13:8083 100 dns: backup (priority 20)"));
  EXPECT_EQ(users[0].endpoint.meta,
            (config::Metadata{{"priority", "10"}, {"target", "u1.test.local"}}));
  EXPECT_EQ(users[3].endpoint.meta.at("priority"), "20");
  EXPECT_THAT(errors_, IsEmpty());
  EXPECT_TRUE(provider_->status().healthy);
  EXPECT_EQ(provider_->status().errors, 0u);
}

TEST_F(DnsTest, EveryServiceIsInTheFirstViewIncludingUnavailableAndMissing) {
  startServer(with(kUsers, {"--srv-host=_down._tcp.test.local"}));
  makeProvider(registry());
  provider_->watch({"users", "down", "missing"});
  ASSERT_TRUE(waitForViews(1));
  const RegistryView& view = views_[0];
  ASSERT_EQ(view.services.size(), 3u);
  EXPECT_EQ(view.services.at("users").size(), 4u);
  // Target "." says the service is decidedly unavailable; NXDOMAIN that it does not exist.
  // Both are the registry's word, not failures.
  EXPECT_THAT(view.services.at("down"), IsEmpty());
  EXPECT_THAT(view.services.at("missing"), IsEmpty());
  EXPECT_THAT(errors_, IsEmpty());
  EXPECT_TRUE(provider_->status().healthy);
}

TEST_F(DnsTest, TargetWithoutGlueIsLookedUp) {
  // dnsmasq sends no glue for a target that is a CNAME, so the address takes its own lookup.
  startServer(with(kUsers, {"--srv-host=_alias._tcp.test.local,alias.test.local,9000,1,1",
                            "--cname=alias.test.local,u1.test.local",
                            "--srv-host=_dangling._tcp.test.local,nowhere.test.local,9000,1,1"}));
  makeProvider(registry());
  provider_->watch({"alias", "dangling"});
  ASSERT_TRUE(waitForViews(1));
  EXPECT_THAT(describe(views_[0].services.at("alias")), ElementsAre("127.0.0.11:9000 100 healthy"));
  // A target that does not exist is no endpoint, and no failure either.
  EXPECT_THAT(views_[0].services.at("dangling"), IsEmpty());
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(DnsTest, RequeriesWhenTheTtlPassesAndPicksUpAChange) {
  // dnsmasq answers TTL 0 by default: min_ttl is the floor between lookups.
  startServer(kUsers);
  makeProvider(registry(std::chrono::milliseconds(200)));
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  ASSERT_EQ(views_[0].services.at("users").size(), 4u);

  const std::string error =
      dnsmasq_.restart({"--srv-host=_users._tcp.test.local,u9.test.local,9090,10,1",
                        "--host-record=u9.test.local,127.0.0.99"});
  ASSERT_EQ(error, "") << error;
  // Lookups while dnsmasq restarts may fail (and are retried); the change arrives either way.
  ASSERT_TRUE(waitForViews(2));
  EXPECT_THAT(describe(views_.back().services.at("users")),
              ElementsAre("127.0.0.99:9090 100 healthy"));
}

TEST_F(DnsTest, UnchangedAnswersSendNoNewView) {
  startServer(kUsers);
  makeProvider(registry(std::chrono::milliseconds(100)));
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  // Several re-queries happen meanwhile; none changes anything.
  EXPECT_FALSE(runUntil(
      base_, [&] { return views_.size() > 1; }, std::chrono::milliseconds(600)));
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(DnsTest, ServerGoneKeepsTheLastViewAndReportsErrors) {
  startServer(kUsers);
  makeProvider(registry(std::chrono::milliseconds(200)));
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  dnsmasq_.stop();
  ASSERT_TRUE(runUntil(
      base_, [&] { return !errors_.empty(); }, kLimit));
  EXPECT_THAT(errors_[0], HasSubstr("_users._tcp.test.local"));
  EXPECT_EQ(views_.size(), 1u);  // no view made smaller by the failure
  EXPECT_FALSE(provider_->status().healthy);
  EXPECT_GE(provider_->status().errors, 1u);
  EXPECT_THAT(provider_->status().last_error, HasSubstr("_users._tcp.test.local"));

  // Back on the same port with the same records: healthy again, and still the same view.
  const std::string error = dnsmasq_.restart(kUsers);
  ASSERT_EQ(error, "") << error;
  ASSERT_TRUE(runUntil(
      base_, [&] { return provider_->status().healthy; }, kLimit));
  EXPECT_EQ(views_.size(), 1u);
  EXPECT_EQ(provider_->status().last_error, "");
}

TEST_F(DnsTest, FailureOnTheFirstLookupStillCompletesTheFirstView) {
  // dnsmasq refuses names outside test.local (it has no upstream): a failure, not an answer.
  startServer(kUsers);
  config::DnsRegistry config = registry();
  config.domain = "elsewhere.example";
  makeProvider(config);
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  EXPECT_THAT(views_[0].services.at("users"), IsEmpty());
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_THAT(errors_[0], HasSubstr("_users._tcp.elsewhere.example"));
  EXPECT_FALSE(provider_->status().healthy);
}

TEST_F(DnsTest, NxDomainEmptiesAServiceThatHadEndpoints) {
  startServer(kUsers);
  makeProvider(registry(std::chrono::milliseconds(200)));
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  const std::string error = dnsmasq_.restart({"--host-record=u1.test.local,127.0.0.11"});
  ASSERT_EQ(error, "") << error;
  ASSERT_TRUE(waitForViews(2));
  EXPECT_THAT(views_.back().services.at("users"), IsEmpty());
}

TEST_F(DnsTest, WatchingAnotherSetPublishesTheNewSet) {
  startServer(with(kUsers, {"--srv-host=_orders._tcp.test.local,u1.test.local,7000,1,1"}));
  makeProvider(registry());
  provider_->watch({"users"});
  ASSERT_TRUE(waitForViews(1));
  provider_->watch({"orders"});
  ASSERT_TRUE(waitForViews(2));
  ASSERT_EQ(views_[1].services.size(), 1u);
  EXPECT_THAT(describe(views_[1].services.at("orders")),
              ElementsAre("127.0.0.11:7000 100 healthy"));
}

TEST_F(DnsTest, ChannelReportsTheSmallestTtl) {
  startServer(with(kUsers, {"--local-ttl=7"}));
  channel_ = std::make_unique<AresChannel>(base_, registry());
  ASSERT_EQ(channel_->error(), "");
  std::optional<DnsResult> result;
  std::vector<SrvRecord> records;
  channel_->querySrv("_users._tcp.test.local", [&](const DnsResult& r, std::vector<SrvRecord> s) {
    result = r;
    records = std::move(s);
  });
  ASSERT_TRUE(runUntil(
      base_, [&] { return result.has_value(); }, kLimit));
  EXPECT_EQ(result->status, DnsStatus::Ok);
  EXPECT_EQ(result->ttl, 7u);
  ASSERT_EQ(records.size(), 3u);
}

TEST_F(DnsTest, ChannelResolvesHosts) {
  startServer(kUsers);
  channel_ = std::make_unique<AresChannel>(base_, registry());
  // Absolute names, so that this machine's search domains and ndots cannot get in the way.
  std::optional<DnsResult> found;
  std::vector<config::Address> addresses;
  channel_->resolveHost("u2.test.local.", 80,
                        [&](const DnsResult& r, std::vector<config::Address> a) {
                          found = r;
                          addresses = std::move(a);
                        });
  std::optional<DnsResult> missing;
  channel_->resolveHost("nowhere.test.local.", 80,
                        [&](const DnsResult& r, std::vector<config::Address>) { missing = r; });
  ASSERT_TRUE(runUntil(
      base_, [&] { return found && missing; }, kLimit));
  EXPECT_EQ(found->status, DnsStatus::Ok);
  std::vector<std::string> texts;
  for (const config::Address& a : addresses) texts.push_back(a.text());
  std::sort(texts.begin(), texts.end());
  EXPECT_THAT(texts, ElementsAre("127.0.0.12:80", "[::12]:80"));
  EXPECT_EQ(missing->status, DnsStatus::NxDomain);
}

// Binds a UDP socket to a free port on 127.0.0.1: which one.
uint16_t bindToLoopback(int fd) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// A UDP socket that takes queries and never answers them.
class BlackHole {
 public:
  BlackHole() : fd_(socket(AF_INET, SOCK_DGRAM, 0)), port_(bindToLoopback(fd_)) {}
  ~BlackHole() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

TEST_F(DnsTest, ChannelTimesOutWithinTheConfiguredTimeout) {
  BlackHole hole;
  config::DnsRegistry config;
  config.servers = {config::Address{"127.0.0.1", hole.port()}};
  config.timeout = std::chrono::milliseconds(300);
  channel_ = std::make_unique<AresChannel>(base_, config);
  std::optional<DnsResult> result;
  channel_->querySrv("_users._tcp.test.local",
                     [&](const DnsResult& r, std::vector<SrvRecord>) { result = r; });
  // 300ms over two tries (100ms + 200ms); the limit leaves room for a slow machine.
  ASSERT_TRUE(runUntil(
      base_, [&] { return result.has_value(); }, std::chrono::milliseconds(2000)));
  EXPECT_EQ(result->status, DnsStatus::Failed);
  EXPECT_THAT(result->error, HasSubstr("imeout"));
}

TEST_F(DnsTest, DestroyingTheChannelCancelsWithoutCallbacks) {
  BlackHole hole;
  config::DnsRegistry config;
  config.servers = {config::Address{"127.0.0.1", hole.port()}};
  config.timeout = std::chrono::milliseconds(300);
  channel_ = std::make_unique<AresChannel>(base_, config);
  int calls = 0;
  channel_->querySrv("_a._tcp.test.local", [&](const DnsResult&, std::vector<SrvRecord>) {
    ++calls;
    channel_.reset();  // from inside a callback: the other lookup must not call back
  });
  channel_->querySrv("_b._tcp.test.local",
                     [&](const DnsResult&, std::vector<SrvRecord>) { ++calls; });
  ASSERT_TRUE(runUntil(
      base_, [&] { return calls > 0; }, std::chrono::milliseconds(2000)));
  EXPECT_FALSE(runUntil(
      base_, [&] { return calls > 1; }, std::chrono::milliseconds(500)));
  EXPECT_EQ(calls, 1);

  channel_ = std::make_unique<AresChannel>(base_, config);
  channel_->resolveHost("u1.test.local", 80,
                        [&](const DnsResult&, std::vector<config::Address>) { ++calls; });
  channel_.reset();
  EXPECT_FALSE(runUntil(
      base_, [&] { return calls > 1; }, std::chrono::milliseconds(500)));
}

// A DNS server that answers A and AAAA questions as told, each after its own delay, and no
// other question. dnsmasq cannot fail one address family and not the other, which is what this
// stands in for; everything else here runs against the real dnsmasq.
class PerFamilyServer {
 public:
  struct Reply {
    int rcode = 0;  // the answer has no records: rcode 0 is NODATA
    std::chrono::milliseconds delay{0};
  };

  PerFamilyServer(event_base* base, Reply a, Reply aaaa)
      : base_(base),
        a_(a),
        aaaa_(aaaa),
        fd_(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)),
        port_(bindToLoopback(fd_)) {
    readable_ = event_new(base, fd_, EV_READ | EV_PERSIST, &PerFamilyServer::onQuery, this);
    event_add(readable_, nullptr);
  }
  ~PerFamilyServer() {
    pending_.clear();
    event_free(readable_);
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  struct Pending {
    PerFamilyServer* server = nullptr;
    std::vector<uint8_t> reply;
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
    event* timer = nullptr;
    ~Pending() {
      if (timer) event_free(timer);
    }
  };

  static void onQuery(evutil_socket_t fd, short, void* self) {
    auto* server = static_cast<PerFamilyServer*>(self);
    uint8_t query[512];
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    const ssize_t got =
        recvfrom(fd, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (got < 12) return;
    size_t at = 12;  // the question's name: labels up to the root
    while (at < static_cast<size_t>(got) && query[at] != 0) at += 1 + query[at];
    if (at + 5 > static_cast<size_t>(got)) return;
    const int type = (query[at + 1] << 8) | query[at + 2];
    const size_t question_end = at + 5;
    if (type != ns_t_a && type != ns_t_aaaa) return;
    const Reply& how = type == ns_t_a ? server->a_ : server->aaaa_;
    auto owned = std::make_unique<Pending>();
    Pending* pending = owned.get();
    pending->server = server;
    pending->reply.assign(query, query + question_end);
    pending->peer = peer;
    pending->peer_length = peer_length;
    std::vector<uint8_t>& reply = pending->reply;
    reply[2] = 0x81;                                    // QR, RD
    reply[3] = static_cast<uint8_t>(0x80 | how.rcode);  // RA, the rcode
    std::fill(reply.begin() + 4, reply.begin() + 12, 0);
    reply[5] = 1;  // one question, no records
    pending->timer = evtimer_new(server->base_, &PerFamilyServer::onDue, pending);
    const timeval delay = {0, static_cast<suseconds_t>(how.delay.count() * 1000)};
    evtimer_add(pending->timer, &delay);
    server->pending_.push_back(std::move(owned));
  }

  static void onDue(evutil_socket_t, short, void* arg) {
    auto* pending = static_cast<Pending*>(arg);
    PerFamilyServer* server = pending->server;
    sendto(server->fd_, pending->reply.data(), pending->reply.size(), 0,
           reinterpret_cast<sockaddr*>(&pending->peer), pending->peer_length);
    // Last: this frees the timer whose callback is running, which libevent allows.
    std::erase_if(server->pending_,
                  [pending](const std::unique_ptr<Pending>& p) { return p.get() == pending; });
  }

  event_base* base_;
  Reply a_;
  Reply aaaa_;
  int fd_;
  uint16_t port_ = 0;
  event* readable_ = nullptr;
  std::vector<std::unique_ptr<Pending>> pending_;
};

// One getaddrinfo for both families reports the status of the query that ended last: an A query
// refused by the server, followed by an empty AAAA answer, read as "no addresses", and a host
// with addresses dropped out over a server's failure.
TEST_F(DnsTest, OneFamilyFailingIsAFailureNotAnEmptyAnswer) {
  PerFamilyServer server(base_, {ns_r_servfail, std::chrono::milliseconds(0)},
                         {ns_r_noerror, std::chrono::milliseconds(100)});
  config::DnsRegistry config;
  config.servers = {config::Address{"127.0.0.1", server.port()}};
  config.timeout = std::chrono::milliseconds(1500);
  channel_ = std::make_unique<AresChannel>(base_, config);
  std::optional<DnsResult> result;
  channel_->resolveHost("app.test.local.", 80,
                        [&](const DnsResult& r, std::vector<config::Address>) { result = r; });
  ASSERT_TRUE(runUntil(
      base_, [&] { return result.has_value(); }, kLimit));
  EXPECT_EQ(result->status, DnsStatus::Failed);
  EXPECT_THAT(result->error, HasSubstr("A: "));
}

TEST_F(DnsTest, BothFamiliesEmptyIsNoDataAndEitherNxDomainIsNxDomain) {
  PerFamilyServer empty(base_, {ns_r_noerror, std::chrono::milliseconds(0)},
                        {ns_r_noerror, std::chrono::milliseconds(50)});
  PerFamilyServer missing(base_, {ns_r_nxdomain, std::chrono::milliseconds(50)},
                          {ns_r_nxdomain, std::chrono::milliseconds(0)});
  config::DnsRegistry config;
  config.timeout = std::chrono::milliseconds(1500);
  config.servers = {config::Address{"127.0.0.1", empty.port()}};
  AresChannel empty_channel(base_, config);
  config.servers = {config::Address{"127.0.0.1", missing.port()}};
  AresChannel missing_channel(base_, config);
  std::optional<DnsResult> nodata;
  std::optional<DnsResult> nxdomain;
  empty_channel.resolveHost("app.test.local.", 80,
                            [&](const DnsResult& r, std::vector<config::Address>) { nodata = r; });
  missing_channel.resolveHost(
      "app.test.local.", 80,
      [&](const DnsResult& r, std::vector<config::Address>) { nxdomain = r; });
  ASSERT_TRUE(runUntil(
      base_, [&] { return nodata && nxdomain; }, kLimit));
  EXPECT_EQ(nodata->status, DnsStatus::NoData);
  EXPECT_EQ(nxdomain->status, DnsStatus::NxDomain);
}

TEST_F(DnsTest, ServerThatIsNotAnIpFailsEveryLookup) {
  config::DnsRegistry config;
  config.servers = {config::Address{"dns.example", 53}};
  channel_ = std::make_unique<AresChannel>(base_, config);
  EXPECT_THAT(channel_->error(), HasSubstr("dns.example:53"));
  std::optional<DnsResult> result;
  channel_->querySrv("_users._tcp",
                     [&](const DnsResult& r, std::vector<SrvRecord>) { result = r; });
  EXPECT_FALSE(result.has_value());  // never from inside the call
  ASSERT_TRUE(runUntil(
      base_, [&] { return result.has_value(); }, kLimit));
  EXPECT_EQ(result->status, DnsStatus::Failed);
  EXPECT_EQ(result->error, channel_->error());
}

}  // namespace
}  // namespace remora::discovery::dns

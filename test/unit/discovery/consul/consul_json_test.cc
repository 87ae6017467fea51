// Tests of the Consul wire format: health replies captured from a real agent and hand-made edge
// cases, the bodies remora sends, and the blocking-query pacer.
#include "discovery/consul/consul_json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "discovery/consul/consul_provider.h"

namespace remora::discovery::consul {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// The fuzz target's seed corpus holds replies captured from Consul 1.15.4 in dev mode. It sits
// beside test/data, which may not exist, so the path does not go through it.
std::string corpusFile(const std::string& name) {
  const auto test_dir = std::filesystem::path(REMORA_TEST_DATA).parent_path();
  std::ifstream in(test_dir / "fuzz/corpus/consul_health" / name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<RegistryEndpoint> parseOk(const std::string& body) {
  std::string error;
  auto endpoints = parseHealthReply(body, error);
  EXPECT_TRUE(endpoints.has_value()) << error;
  return endpoints.value_or(std::vector<RegistryEndpoint>{});
}

std::string parseError(const std::string& body) {
  std::string error;
  auto endpoints = parseHealthReply(body, error);
  EXPECT_FALSE(endpoints.has_value());
  return error;
}

// One entry of a reply, with the fields a test changes.
json entry(json service, json checks = json::array()) {
  return {{"Node", {{"Node", "n1"}, {"Address", "10.0.0.1"}}},
          {"Service", std::move(service)},
          {"Checks", std::move(checks)}};
}

json check(const std::string& id, const std::string& status, const std::string& output = "") {
  return {{"CheckID", id}, {"Status", status}, {"Output", output}, {"ServiceID", ""}};
}

std::string reply(std::initializer_list<json> entries) { return json(entries).dump(); }

TEST(ConsulJson, RealReplyWithPassingWarningAndCriticalInstances) {
  const std::string body = corpusFile("passing_warning_critical.json");
  ASSERT_FALSE(body.empty());
  auto endpoints = parseOk(body);
  ASSERT_EQ(endpoints.size(), 3u);

  // users-1: passing, its own address, Weights.Passing, Meta with tags and node.
  EXPECT_EQ(endpoints[0].endpoint.address.text(), "127.0.0.2:8080");
  EXPECT_EQ(endpoints[0].endpoint.weight, 10u);
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[0].endpoint.meta,
            (config::Metadata{{"version", "v1"}, {"tags", "http,v1"}, {"node", "test"}}));

  // users-2: warning, no address of its own (the node's), Meta null, Tags [].
  EXPECT_EQ(endpoints[1].endpoint.address.text(), "127.0.0.1:8081");
  EXPECT_EQ(endpoints[1].endpoint.weight, 1u);
  EXPECT_TRUE(endpoints[1].healthy);
  EXPECT_EQ(endpoints[1].endpoint.meta, (config::Metadata{{"node", "test"}}));

  // users-3: a TTL check that never reported starts critical.
  EXPECT_EQ(endpoints[2].endpoint.address.text(), "127.0.0.1:8082");
  EXPECT_FALSE(endpoints[2].healthy);
  EXPECT_EQ(endpoints[2].health_reason, "consul: critical (service:users-3)");
  EXPECT_EQ(endpoints[2].endpoint.meta.at("version"), "v2");
}

TEST(ConsulJson, RealReplyInMaintenance) {
  auto endpoints = parseOk(corpusFile("maintenance.json"));
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_FALSE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[0].health_reason, "consul: maintenance");
}

TEST(ConsulJson, RealReplyWithACheckOutput) {
  auto endpoints = parseOk(corpusFile("critical_output.json"));
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_FALSE(endpoints[1].healthy);
  EXPECT_EQ(endpoints[1].health_reason,
            "consul: critical (service:users-2: HTTP GET http://x: 500 Internal Server Error)");
}

TEST(ConsulJson, RealEmptyReplies) {
  EXPECT_TRUE(parseOk(corpusFile("empty.json")).empty());
  auto endpoints = parseOk(corpusFile("http_check.json"));
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_FALSE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[0].health_reason, "consul: critical (service:web-1)");
}

TEST(ConsulJson, NullTagsMetaChecksAndWeights) {
  auto endpoints = parseOk(reply({{{"Node", {{"Node", "n1"}, {"Address", "10.0.0.1"}}},
                                   {"Service",
                                    {{"ID", "a"},
                                     {"Tags", nullptr},
                                     {"Meta", nullptr},
                                     {"Address", ""},
                                     {"Port", 80},
                                     {"Weights", nullptr}}},
                                   {"Checks", nullptr}}}));
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].endpoint.address.text(), "10.0.0.1:80");
  EXPECT_EQ(endpoints[0].endpoint.weight, 1u);
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[0].endpoint.meta, (config::Metadata{{"node", "n1"}}));
}

TEST(ConsulJson, WarningUsesTheWarningWeightAndZeroTakesItOut) {
  const json weights = {{"Passing", 10}, {"Warning", 3}};
  auto endpoints =
      parseOk(reply({entry({{"Port", 80}, {"Weights", weights}}, {check("serfHealth", "passing")}),
                     entry({{"Port", 81}, {"Weights", weights}},
                           {check("serfHealth", "passing"), check("service:b", "warning")}),
                     entry({{"Port", 82}, {"Weights", {{"Passing", 10}, {"Warning", 0}}}},
                           {check("service:c", "warning")})}));
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].endpoint.weight, 10u);
  EXPECT_TRUE(endpoints[0].healthy);
  EXPECT_EQ(endpoints[1].endpoint.weight, 3u);
  EXPECT_TRUE(endpoints[1].healthy);
  EXPECT_FALSE(endpoints[2].healthy);
  EXPECT_EQ(endpoints[2].health_reason, "consul: warning (weight 0)");
}

TEST(ConsulJson, WorstCheckWinsWhateverTheOrder) {
  auto endpoints =
      parseOk(reply({entry({{"Port", 80}}, {check("service:a", "warning"),
                                            check("serfHealth", "critical", "Agent not live"),
                                            check("service:a:2", "critical", "second")}),
                     entry({{"Port", 81}}, {check("_service_maintenance:b", "critical", ""),
                                            check("service:b", "critical")}),
                     entry({{"Port", 82}}, {check("service:c", "critical"),
                                            check("_node_maintenance", "critical")}),
                     entry({{"Port", 83}}, {check("service:d", "exploded")})}));
  ASSERT_EQ(endpoints.size(), 4u);
  EXPECT_EQ(endpoints[0].health_reason, "consul: critical (serfHealth: Agent not live)");
  EXPECT_EQ(endpoints[1].health_reason, "consul: maintenance");
  EXPECT_EQ(endpoints[2].health_reason, "consul: maintenance");
  // An unknown status fails closed.
  EXPECT_FALSE(endpoints[3].healthy);
  EXPECT_EQ(endpoints[3].health_reason, "consul: critical (service:d)");
}

TEST(ConsulJson, LongOutputIsCutAtACharacterBoundary) {
  std::string output(199, 'x');
  output += "\xc3\xa9\xc3\xa9 and more\n";  // "é" straddles the cut at 200 bytes
  auto endpoints =
      parseOk(reply({entry({{"Port", 80}}, {check("service:a", "critical", output)})}));
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].health_reason,
            "consul: critical (service:a: " + std::string(199, 'x') + "...)");
  auto trimmed = parseOk(reply({entry({{"Port", 80}}, {check("c", "critical", "down\n")})}));
  EXPECT_EQ(trimmed.at(0).health_reason, "consul: critical (c: down)");
}

TEST(ConsulJson, ServiceMetaWinsOverDerivedKeys) {
  auto endpoints = parseOk(reply({entry(
      {{"Port", 80}, {"Tags", {"a", "b"}}, {"Meta", {{"node", "mine"}, {"version", "v2"}}}})}));
  EXPECT_EQ(endpoints.at(0).endpoint.meta,
            (config::Metadata{{"node", "mine"}, {"version", "v2"}, {"tags", "a,b"}}));
}

TEST(ConsulJson, InstancesWithoutAddressOrPortAreOut) {
  auto endpoints =
      parseOk(reply({entry({{"Port", 0}}),
                     {{"Node", {{"Node", "n"}, {"Address", ""}}}, {"Service", {{"Port", 80}}}}}));
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].health_reason, "consul: no address or port");
  EXPECT_EQ(endpoints[1].health_reason, "consul: no address or port");
}

TEST(ConsulJson, HugeWeightsAreCapped) {
  auto endpoints =
      parseOk(reply({entry({{"Port", 80}, {"Weights", {{"Passing", 5'000'000'000ull}}}})}));
  EXPECT_EQ(endpoints.at(0).endpoint.weight, 1'000'000u);
}

TEST(ConsulJson, GarbageIsRejectedWithThePlace) {
  EXPECT_EQ(parseError(""), "the reply is not valid JSON");
  EXPECT_EQ(parseError("[{\"Node\":"), "the reply is not valid JSON");
  EXPECT_EQ(parseError("{}"), "the reply is not a JSON array");
  EXPECT_EQ(parseError("null"), "the reply is not a JSON array");
  EXPECT_EQ(parseError("[1]"), "[0] is not an object");
  EXPECT_EQ(parseError("[{\"Service\":{}}]"), "[0] has no Node");
  EXPECT_EQ(parseError("[{\"Node\":{}}]"), "[0] has no Service");
  EXPECT_EQ(parseError("[{\"Node\":[],\"Service\":{}}]"), "[0].Node is not an object");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}}), entry({{"Port", "80"}})})),
            "[1].Service.Port is not an integer");
  EXPECT_EQ(parseError(reply({entry({{"Port", -1}})})), "[0].Service.Port is negative");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80.5}})})), "[0].Service.Port is not an integer");
  EXPECT_EQ(parseError(reply({entry({{"Port", 70000}})})), "[0].Service.Port is out of range");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Address", 1}})})),
            "[0].Service.Address is not a string");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Tags", "a,b"}})})),
            "[0].Service.Tags is not an array");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Tags", {"a", 1}}})})),
            "[0].Service.Tags has an element that is not a string");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Meta", {{"version", 2}}}})})),
            "[0].Service.Meta.version is not a string");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Meta", "x"}})})),
            "[0].Service.Meta is not an object");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}, {"Weights", {{"Warning", true}}}})})),
            "[0].Service.Weights.Warning is not an integer");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}}, json::object())})),
            "[0].Checks is not an array");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}}, {check("a", "passing"), 7})})),
            "[0].Checks[1] is not an object");
  EXPECT_EQ(parseError(reply({entry({{"Port", 80}}, {{{"CheckID", "a"}, {"Status", 1}}})})),
            "[0].Checks[0].Status is not a string");
}

TEST(ConsulJson, RegistrationBodyWithATtlCheck) {
  config::Service service;
  service.name = "orders";
  service.id = "orders-1";
  service.address = "10.1.2.3";
  service.port = 15006;
  service.tags = {"http"};
  service.meta = {{"version", "v1"}};
  service.weight_passing = 10;
  service.weight_warning = 2;
  config::ConsulRegistry registry;
  const json body =
      json::parse(encodeRegistration(service, registry, milliseconds(15000), AppHealth::Warning));
  EXPECT_EQ(body["ID"], "orders-1");
  EXPECT_EQ(body["Name"], "orders");
  EXPECT_EQ(body["Tags"], json({"http"}));
  EXPECT_EQ(body["Address"], "10.1.2.3");
  EXPECT_EQ(body["Port"], 15006);
  EXPECT_EQ(body["Meta"], json({{"version", "v1"}}));
  EXPECT_EQ(body["Weights"], json({{"Passing", 10}, {"Warning", 2}}));
  EXPECT_EQ(body["Check"]["CheckID"], "service:orders-1");
  EXPECT_EQ(body["Check"]["TTL"], "15s");
  EXPECT_EQ(body["Check"]["Status"], "warning");
  EXPECT_EQ(body["Check"]["DeregisterCriticalServiceAfter"], "60s");
  EXPECT_FALSE(body["Check"].contains("HTTP"));
}

TEST(ConsulJson, RegistrationBodyWithAnHttpCheck) {
  config::Service service;
  service.name = "orders";  // no id: the name
  service.address = "::1";
  service.port = 15006;
  service.health.path = "/healthz";
  service.health.interval = milliseconds(2000);
  service.health.timeout = milliseconds(500);
  config::ConsulRegistry registry;
  registry.check = config::ConsulRegistry::Check::Http;
  registry.deregister_critical_after = milliseconds(90000);
  const json body =
      json::parse(encodeRegistration(service, registry, milliseconds(15000), AppHealth::Passing));
  EXPECT_EQ(body["ID"], "orders");
  EXPECT_EQ(body["Meta"], json::object());
  EXPECT_EQ(body["Check"]["CheckID"], "service:orders");
  EXPECT_EQ(body["Check"]["HTTP"], "http://[::1]:15006/healthz");
  EXPECT_EQ(body["Check"]["Interval"], "2s");
  EXPECT_EQ(body["Check"]["Timeout"], "500ms");
  EXPECT_EQ(body["Check"]["Status"], "passing");
  EXPECT_EQ(body["Check"]["DeregisterCriticalServiceAfter"], "90s");
  EXPECT_FALSE(body["Check"].contains("TTL"));
}

TEST(ConsulJson, CheckUpdateBody) {
  const json body = json::parse(encodeCheckUpdate(AppHealth::Critical));
  EXPECT_EQ(body["Status"], "critical");
  EXPECT_TRUE(body["Output"].is_string());
}

TEST(ConsulJson, RequestPieces) {
  EXPECT_EQ(durationText(milliseconds(300000)), "300s");
  EXPECT_EQ(durationText(milliseconds(1500)), "1500ms");
  EXPECT_EQ(urlEscape("service:a b/c~d"), "service%3Aa%20b%2Fc~d");
  config::ConsulRegistry registry;
  ::setenv("CONSUL_HTTP_TOKEN", "from-env", 1);
  EXPECT_EQ(resolveToken(registry), "from-env");
  registry.token = "configured";
  EXPECT_EQ(resolveToken(registry), "configured");
  ::unsetenv("CONSUL_HTTP_TOKEN");
  registry.token.clear();
  EXPECT_EQ(resolveToken(registry), "");
}

TEST(ConsulJson, FailuresAreDescribedInPrintableText) {
  HttpResponse refused;
  refused.error = "connection refused or reset";
  EXPECT_EQ(describeFailure(refused), "connection refused or reset");
  HttpResponse denied;
  denied.status = 403;
  denied.body = "Permission denied: token with AccessorID '' lacks permission\n";
  EXPECT_EQ(describeFailure(denied),
            "HTTP 403: Permission denied: token with AccessorID '' lacks permission");
  HttpResponse binary;
  binary.status = 502;
  binary.body = std::string("bad\xff\x01gateway") + std::string(300, 'x');
  EXPECT_EQ(describeFailure(binary), "HTTP 502: bad??gateway" + std::string(188, 'x'));
  HttpResponse empty;
  empty.status = 500;
  EXPECT_EQ(describeFailure(empty), "HTTP 500");
}

// Drives a pacer the way a watch does: each reply comes `blocked` after its query was sent.
class PacedWatch {
 public:
  PacedWatch() { now_ += std::chrono::hours(1); }
  // A reply `blocked` after the query went out; the wait before the next query.
  int64_t reply(milliseconds blocked) {
    now_ += blocked;
    const milliseconds wait = pacer_.delay(sent_, now_);
    now_ += wait;
    sent_ = now_;
    return wait.count();
  }

 private:
  QueryPacer pacer_;
  QueryPacer::Clock::time_point now_{};
  QueryPacer::Clock::time_point sent_ = now_;
};

TEST(ConsulPacer, BurstOfTwoThenSlowerUnderChurnUpToASecond) {
  PacedWatch watch;
  // Every reply comes back at once (the service keeps changing): each wait doubles up to 1s.
  std::vector<int64_t> waits;
  for (int i = 0; i < 7; ++i) waits.push_back(watch.reply(milliseconds(0)));
  EXPECT_EQ(waits, (std::vector<int64_t>{0, 0, 250, 500, 1000, 1000, 1000}));
  // A change every 200ms is still churn: the queries stay a second apart.
  EXPECT_EQ(watch.reply(milliseconds(200)), 800);
  EXPECT_EQ(watch.reply(milliseconds(200)), 800);
}

TEST(ConsulPacer, AQueryThatBlockedAQuarterSecondEndsTheChurn) {
  PacedWatch watch;
  for (int i = 0; i < 6; ++i) watch.reply(milliseconds(0));
  // A change every 700ms is slower than the 250ms refill, though never slow enough to leave a
  // token at the 1s one: the blocked query is what says the service calmed down.
  EXPECT_EQ(watch.reply(milliseconds(700)), 0);
  EXPECT_EQ(watch.reply(milliseconds(0)), 0);
  EXPECT_EQ(watch.reply(milliseconds(0)), 250);
  EXPECT_EQ(watch.reply(milliseconds(700)), 0);
}

TEST(ConsulPacer, OccasionalChangesNeverWait) {
  PacedWatch watch;
  // One change every 300ms refills more than a token.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(watch.reply(milliseconds(300)), 0);
}

}  // namespace
}  // namespace remora::discovery::consul

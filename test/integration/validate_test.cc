// The remora command line: `--version`, and `remora validate` exit codes and file:line:col errors.
#include <chrono>
#include <filesystem>
#include <regex>

#include "integration/harness/harness.h"

namespace remora::harness {
namespace {

using namespace std::chrono_literals;

CommandResult remoraCommand(const std::vector<std::string>& args) {
  std::vector<std::string> argv{remoraBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, deadlineIn(10s));
}

std::string escapeRegex(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Whether a line of `text` starts with `path:line:col: ` (any column when `col` is 0) and then
// mentions `word`.
bool hasError(const std::string& text, const std::string& path, int line, int col,
              const std::string& word) {
  std::string pattern = "(^|\n)" + escapeRegex(path) + ":" + std::to_string(line) + ":" +
                        (col > 0 ? std::to_string(col) : std::string("[0-9]+")) + ": [^\n]*" +
                        escapeRegex(word);
  return std::regex_search(text, std::regex(pattern));
}

// The README points at these files; they must stay valid as the config grows.
TEST(Cli, EveryExampleConfigValidates) {
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(REMORA_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    CommandResult r = remoraCommand({"validate", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << ": " << r.err;
    ++checked;
  }
  EXPECT_GE(checked, 2u);
}

TEST(Cli, VersionPrintsTheVersion) {
  CommandResult r = remoraCommand({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("remora ", 0), 0u) << r.out;
}

TEST(Validate, GoodFileExitsZero) {
  TempDir dir;
  writeFile(dir.file("good.yaml"), R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["127.0.0.1:8080"]
)");
  CommandResult r = remoraCommand({"validate", dir.file("good.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(Validate, BadFileReportsEveryErrorWithItsPlace) {
  TempDir dir;
  std::string path = dir.file("bad.yaml").string();
  writeFile(path, R"(admin: {address: "127.0.0.1:0"}
workers: 1
listeners:
  - name: edge
    address: "127.0.0.1:0"
    bogus_key: 1
    request_header_timeout: soon
    routes:
      - match: {prefix: /}
        cluster: backend
clusters:
  - name: backend
    endpoints: ["127.0.0.1:8080"]
unknown_top: true
)");
  CommandResult r = remoraCommand({"validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(hasError(r.err, path, 6, 5, "bogus_key")) << r.err;
  EXPECT_TRUE(hasError(r.err, path, 7, 0, "")) << "the bad duration:\n" << r.err;
  EXPECT_TRUE(hasError(r.err, path, 14, 1, "unknown_top")) << r.err;
}

TEST(Validate, UndefinedClusterIsReportedWhereItIsUsed) {
  TempDir dir;
  std::string path = dir.file("dangling.yaml").string();
  writeFile(path, R"(admin: {address: "127.0.0.1:0"}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes:
      - match: {prefix: /}
        cluster: nowhere
clusters: []
)");
  CommandResult r = remoraCommand({"validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(hasError(r.err, path, 7, 0, "nowhere")) << r.err;
}

// The Helm chart's form: the probe listener on the pod's address.
TEST(Validate, AdminProbeAddressIsCheckedLikeTheAddress) {
  TempDir dir;
  const std::string config = R"(admin: {address: "127.0.0.1:9901", probe_address: "{{probe}}"}
listeners:
  - name: edge
    address: "127.0.0.1:0"
    routes: [{direct_response: {status: 200}}]
)";
  const std::string good = dir.file("good.yaml").string();
  writeFile(good, render(config, {{"probe", "${REMORA_VALIDATE_POD_IP:-10.0.0.7}:15021"}}));
  CommandResult ok = remoraCommand({"validate", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const std::string bad = dir.file("bad.yaml").string();
  writeFile(bad, render(config, {{"probe", "10.0.0.7"}}));
  CommandResult r = remoraCommand({"validate", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(hasError(r.err, bad, 1, 0, "probe_address: bad address '10.0.0.7'")) << r.err;
}

TEST(Validate, MissingFileExitsOne) {
  TempDir dir;
  std::string path = dir.file("absent.yaml").string();
  CommandResult r = remoraCommand({"validate", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

}  // namespace
}  // namespace remora::harness

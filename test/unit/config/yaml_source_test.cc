// Tests for the YAML front end: syntax errors, aliases, and the limits that keep walks bounded.
#include "config/yaml_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace remora::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::vector<std::string> errorsOf(const std::string& yaml, bool expand_env = false) {
  std::vector<Error> errors;
  std::optional<YamlDocument> document = parseYaml(yaml, "y.yaml", {expand_env}, errors);
  std::vector<std::string> texts;
  for (const Error& error : errors) texts.push_back(error.text());
  return texts;
}

TEST(YamlSourceTest, SyntaxErrorsCarryTheirMark) {
  std::vector<Error> errors;
  EXPECT_FALSE(parseYaml("a: [1,\n", "y.yaml", {}, errors).has_value());
  EXPECT_THAT(errors.at(0).text(), StartsWith("y.yaml:2:1: "));
}

TEST(YamlSourceTest, RejectsMalformedUtf8WithItsPlace) {
  EXPECT_THAT(errorsOf("a: caf\xc3\xa9\nb: x\xe9y\n"),
              ElementsAre("y.yaml:2:5: malformed UTF-8 (the file must be UTF-8)"));
  EXPECT_THAT(errorsOf("a: \xc0\xaf\n"), ElementsAre(HasSubstr("1:4: malformed")));  // overlong
  EXPECT_THAT(errorsOf("a: \xed\xa0\x80\n"),
              ElementsAre(HasSubstr("1:4: malformed")));  // surrogate
  EXPECT_THAT(errorsOf("a: \xf4\x90\x80\x80\n"), ElementsAre(HasSubstr("1:4: malformed")));
  EXPECT_THAT(errorsOf("a: \xe2\x82"), ElementsAre(HasSubstr("1:4: malformed")));  // truncated
  EXPECT_THAT(errorsOf("a: \xf0\x9f\x90\x9f \xe2\x82\xac\n"), IsEmpty());
}

TEST(YamlSourceTest, SharedAnchorsAreFine) {
  EXPECT_THAT(errorsOf("a: &x {k: [1, 2]}\nb: *x\nc: *x\n"), IsEmpty());
}

TEST(YamlSourceTest, RejectsANodeThatContainsItself) {
  std::vector<Error> errors;
  EXPECT_FALSE(parseYaml("a: &x [1, *x]\n", "y.yaml", {}, errors).has_value());
  EXPECT_THAT(errors, testing::SizeIs(1));
  EXPECT_THAT(errors[0].text(), HasSubstr("alias refers to a node that contains it"));
}

TEST(YamlSourceTest, RejectsAnAliasBomb) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 1; j < 10; ++j) yaml += ", " + prev;
    yaml += "]\n";
  }
  EXPECT_THAT(errorsOf(yaml), ElementsAre("y.yaml:1:1: document has more than 1000000 nodes "
                                          "once aliases are followed"));
}

TEST(YamlSourceTest, RejectsDeepNesting) {
  std::string deep = std::string(70, '[') + std::string(70, ']');
  EXPECT_THAT(errorsOf(deep), ElementsAre(HasSubstr("nests deeper than 64 levels")));
  // Each alias alone is shallow; together they nest past the limit.
  std::string chained = "a: &a " + std::string(40, '[') + std::string(40, ']') +
                        "\nb: " + std::string(40, '[') + "*a" + std::string(40, ']') + "\n";
  EXPECT_THAT(errorsOf(chained), ElementsAre(HasSubstr("nests deeper than 64 levels")));
  std::string fine = std::string(60, '[') + std::string(60, ']');
  EXPECT_THAT(errorsOf(fine), IsEmpty());
}

TEST(YamlSourceTest, ExpandsValuesButNotKeys) {
  setenv("REMORA_YAML_KEY", "v", 1);
  std::vector<Error> errors;
  std::optional<YamlDocument> document =
      parseYaml("${REMORA_YAML_KEY}: ${REMORA_YAML_KEY}\n", "y.yaml", {true}, errors);
  unsetenv("REMORA_YAML_KEY");
  ASSERT_TRUE(document.has_value());
  EXPECT_EQ(document->root["${REMORA_YAML_KEY}"].as<std::string>(), "v");
}

TEST(YamlSourceTest, RecordsScalarsThatFailedToExpand) {
  unsetenv("REMORA_YAML_UNSET");
  std::vector<Error> errors;
  std::optional<YamlDocument> document =
      parseYaml("a: ok\nb: ${REMORA_YAML_UNSET}\n", "y.yaml", {true}, errors);
  ASSERT_TRUE(document.has_value());
  EXPECT_THAT(document->unexpanded, ElementsAre(std::pair{2, 4}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].text(), StartsWith("y.yaml:2:4: environment variable"));
}

TEST(YamlSourceTest, LeavesTextAloneWithoutExpansion) {
  std::vector<Error> errors;
  std::optional<YamlDocument> document =
      parseYaml("a: ${REMORA_YAML_UNSET}\n", "y.yaml", {}, errors);
  ASSERT_TRUE(document.has_value());
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(document->root["a"].as<std::string>(), "${REMORA_YAML_UNSET}");
}

}  // namespace
}  // namespace remora::config

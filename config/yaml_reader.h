// Reading typed values out of yaml-cpp nodes, collecting every error with its file:line:col.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/result.h"

namespace remora::config {

// A node and where to report problems with it. yaml-cpp gives a null node the mark of the next
// token (often the next line), so null values borrow their key's or parent's place instead.
struct Located {
  YAML::Node node;
  SourceLocation where;
};

struct Field {
  std::string key;
  SourceLocation key_where;
  Located value;
};

// The fields of one mapping, in the order written, keys already checked.
class Fields {
 public:
  Fields(SourceLocation where, std::vector<Field> fields)
      : where_(std::move(where)), fields_(std::move(fields)) {}

  const SourceLocation& where() const { return where_; }
  const std::vector<Field>& all() const { return fields_; }
  const Field* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

 private:
  SourceLocation where_;
  std::vector<Field> fields_;
};

// Every read reports what is wrong and returns nullopt; callers carry on so that one pass finds
// all the errors in a file. `what` names the value in messages, usually its key.
class YamlReader {
 public:
  // Scalars at the `unexpanded` places (see YamlDocument) read as absent without an error.
  explicit YamlReader(std::string source, std::set<std::pair<int, int>> unexpanded = {})
      : source_(std::move(source)), unexpanded_(std::move(unexpanded)) {}

  // The document root, or an error when it is empty.
  std::optional<Located> root(const YAML::Node& node);
  void error(const SourceLocation& where, std::string message);
  std::vector<Error> takeErrors() { return std::move(errors_); }

  // A mapping whose keys must all be in `known`; unknown and repeated keys are errors.
  std::optional<Fields> mapping(const Located& at, std::string_view what,
                                std::initializer_list<std::string_view> known);
  // A mapping with free-form scalar keys (header names, metadata, service names).
  std::optional<Fields> freeMapping(const Located& at, std::string_view what);
  std::optional<std::vector<Located>> sequence(const Located& at, std::string_view what);
  // Reports `key` missing from `fields`; returns whether it is present.
  bool require(const Fields& fields, std::string_view what, std::string_view key);

  std::optional<std::string> string(const Located& at, std::string_view what);
  std::optional<std::string> nonEmptyString(const Located& at, std::string_view what);
  // `true` or `false`, YAML 1.2's only spellings (not yes/no/on/off).
  std::optional<bool> boolean(const Located& at, std::string_view what);
  std::optional<uint64_t> integer(const Located& at, std::string_view what, uint64_t min,
                                  uint64_t max);
  std::optional<uint64_t> size(const Located& at, std::string_view what, uint64_t min,
                               uint64_t max);
  // A decimal number (0.01, 1.5, 2) in min..max.
  std::optional<double> number(const Located& at, std::string_view what, double min, double max);
  std::optional<Duration> duration(const Located& at, std::string_view what);
  std::optional<Address> address(const Located& at, std::string_view what);
  // {key: scalar} with keys and values kept as written.
  std::optional<Metadata> stringMap(const Located& at, std::string_view what);

 private:
  SourceLocation locate(const YAML::Node& node, const SourceLocation& fallback) const;
  std::optional<Fields> fields(const Located& at, std::string_view what,
                               const std::initializer_list<std::string_view>* known);
  std::optional<std::string> scalar(const Located& at, std::string_view what,
                                    std::string_view expected);

  std::string source_;
  std::set<std::pair<int, int>> unexpanded_;
  std::vector<Error> errors_;
};

// "a mapping", "a list", ... for messages like "'x' must be a string, not a list".
std::string_view describe(const YAML::Node& node);

// Orders errors top to bottom, the order a user fixes them in; ties keep their order.
void sortByPlace(std::vector<Error>& errors);

// "12:5", for messages that point back at an earlier place in the same file.
std::string lineCol(const SourceLocation& where);

}  // namespace remora::config

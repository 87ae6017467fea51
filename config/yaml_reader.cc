// Reading typed values out of yaml-cpp nodes, collecting every error with its file:line:col.
#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/address.h"
#include "config/duration.h"
#include "config/size.h"

namespace remora::config {
namespace {

std::string joined(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

void sortByPlace(std::vector<Error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
}

std::string lineCol(const SourceLocation& where) {
  return std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "empty";
  }
}

const Field* Fields::find(std::string_view key) const {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const Field& field) { return field.key == key; });
  return it == fields_.end() ? nullptr : &*it;
}

SourceLocation YamlReader::locate(const YAML::Node& node, const SourceLocation& fallback) const {
  if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) return fallback;
  return {source_, node.Mark().line + 1, node.Mark().column + 1};
}

std::optional<Located> YamlReader::root(const YAML::Node& node) {
  SourceLocation start{source_, 1, 1};
  if (!node.IsDefined() || node.IsNull()) {
    error(start, "the document is empty");
    return std::nullopt;
  }
  return Located{node, locate(node, start)};
}

void YamlReader::error(const SourceLocation& where, std::string message) {
  errors_.push_back({where, std::move(message)});
}

std::optional<Fields> YamlReader::mapping(const Located& at, std::string_view what,
                                          std::initializer_list<std::string_view> known) {
  return fields(at, what, &known);
}

std::optional<Fields> YamlReader::freeMapping(const Located& at, std::string_view what) {
  return fields(at, what, nullptr);
}

std::optional<Fields> YamlReader::fields(const Located& at, std::string_view what,
                                         const std::initializer_list<std::string_view>* known) {
  if (!at.node.IsMap()) {
    error(at.where,
          std::string(what) + " must be a mapping, not " + std::string(describe(at.node)));
    return std::nullopt;
  }
  std::vector<Field> fields;
  for (auto it = at.node.begin(); it != at.node.end(); ++it) {
    SourceLocation key_where = locate(it->first, at.where);
    if (!it->first.IsScalar()) {
      error(key_where, "keys in " + std::string(what) + " must be scalars, not " +
                           std::string(describe(it->first)));
      continue;
    }
    const std::string& key = it->first.Scalar();
    if (known != nullptr && std::find(known->begin(), known->end(), key) == known->end()) {
      error(key_where, "unknown key '" + key + "' in " + std::string(what) +
                           " (known: " + joined(*known) + ")");
      continue;
    }
    auto first = std::find_if(fields.begin(), fields.end(),
                              [&](const Field& field) { return field.key == key; });
    if (first != fields.end()) {
      error(key_where, "duplicate key '" + key + "' in " + std::string(what) + " (first at " +
                           lineCol(first->key_where) + ")");
      continue;
    }
    fields.push_back({key, key_where, {it->second, locate(it->second, key_where)}});
  }
  return Fields(at.where, std::move(fields));
}

std::optional<std::vector<Located>> YamlReader::sequence(const Located& at, std::string_view what) {
  if (!at.node.IsSequence()) {
    error(at.where, std::string(what) + " must be a list, not " + std::string(describe(at.node)));
    return std::nullopt;
  }
  std::vector<Located> items;
  for (auto it = at.node.begin(); it != at.node.end(); ++it) {
    items.push_back({*it, locate(*it, at.where)});
  }
  return items;
}

bool YamlReader::require(const Fields& fields, std::string_view what, std::string_view key) {
  if (fields.has(key)) return true;
  error(fields.where(), std::string(what) + " is missing required key '" + std::string(key) + "'");
  return false;
}

std::optional<std::string> YamlReader::scalar(const Located& at, std::string_view what,
                                              std::string_view expected) {
  if (!at.node.IsScalar()) {
    error(at.where, std::string(what) + " must be " + std::string(expected) + ", not " +
                        std::string(describe(at.node)));
    return std::nullopt;
  }
  if (unexpanded_.contains({at.where.line, at.where.column})) return std::nullopt;
  return at.node.Scalar();
}

std::optional<std::string> YamlReader::string(const Located& at, std::string_view what) {
  return scalar(at, what, "a string");
}

std::optional<std::string> YamlReader::nonEmptyString(const Located& at, std::string_view what) {
  std::optional<std::string> text = string(at, what);
  if (text && text->empty()) {
    error(at.where, std::string(what) + " must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> YamlReader::boolean(const Located& at, std::string_view what) {
  std::optional<std::string> text = scalar(at, what, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  error(at.where, std::string(what) + " must be true or false, not '" + *text + "'");
  return std::nullopt;
}

std::optional<uint64_t> YamlReader::integer(const Located& at, std::string_view what, uint64_t min,
                                            uint64_t max) {
  std::optional<std::string> text = scalar(at, what, "an integer");
  if (!text) return std::nullopt;
  bool digits =
      !text->empty() && text->size() <= 19 &&
      std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    error(at.where, std::string(what) + " must be an integer in " + std::to_string(min) + ".." +
                        std::to_string(max) + ", not '" + *text + "'");
    return std::nullopt;
  }
  uint64_t value = std::stoull(*text);
  if (value < min || value > max) {
    error(at.where, std::string(what) + " must be in " + std::to_string(min) + ".." +
                        std::to_string(max) + ", not " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::number(const Located& at, std::string_view what, double min,
                                         double max) {
  std::optional<std::string> text = scalar(at, what, "a number");
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  auto [stop, failure] = std::from_chars(text->data(), end, value);
  const auto range = [&] {
    std::ostringstream out;
    out << min << ".." << max;
    return out.str();
  };
  if (failure != std::errc() || stop != end || !std::isfinite(value)) {
    error(at.where,
          std::string(what) + " must be a number in " + range() + ", not '" + *text + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(at.where, std::string(what) + " must be in " + range() + ", not " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> YamlReader::size(const Located& at, std::string_view what, uint64_t min,
                                         uint64_t max) {
  std::optional<std::string> text = scalar(at, what, "a size");
  if (!text) return std::nullopt;
  Result<uint64_t> value = parseSize(*text);
  if (!value) {
    error(at.where, std::string(what) + ": " + value.errors().front().message);
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    error(at.where, std::string(what) + " must be in " + std::to_string(min) + ".." +
                        std::to_string(max) + " bytes, not " + std::to_string(*value));
    return std::nullopt;
  }
  return *value;
}

std::optional<Duration> YamlReader::duration(const Located& at, std::string_view what) {
  std::optional<std::string> text = scalar(at, what, "a duration");
  if (!text) return std::nullopt;
  Result<Duration> value = parseDuration(*text);
  if (!value) {
    error(at.where, std::string(what) + ": " + value.errors().front().message);
    return std::nullopt;
  }
  return *value;
}

std::optional<Address> YamlReader::address(const Located& at, std::string_view what) {
  std::optional<std::string> text = scalar(at, what, "host:port");
  if (!text) return std::nullopt;
  Result<Address> value = parseAddress(*text);
  if (!value) {
    error(at.where, std::string(what) + ": " + value.errors().front().message);
    return std::nullopt;
  }
  return *value;
}

std::optional<Metadata> YamlReader::stringMap(const Located& at, std::string_view what) {
  std::optional<Fields> fields = freeMapping(at, what);
  if (!fields) return std::nullopt;
  Metadata out;
  bool ok = true;
  for (const Field& field : fields->all()) {
    std::optional<std::string> value = string(field.value, std::string(what) + "." + field.key);
    if (value) {
      out[field.key] = *value;
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace remora::config

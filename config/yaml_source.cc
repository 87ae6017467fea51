// Turning YAML text into a node tree that the typed readers can walk safely.
#include "config/yaml_source.h"

#include <algorithm>
#include <unordered_map>

#include "config/env_expand.h"

namespace remora::config {
namespace {

constexpr int kMaxDepth = 64;
constexpr uint64_t kMaxExpandedNodes = 1'000'000;

// The offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
// surrogates, nothing past U+10FFFF), or npos. Config strings end up in JSON (the config dump)
// and in headers, where malformed UTF-8 would fail far from its cause.
size_t invalidUtf8Offset(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char lead = byte(i);
    size_t length;
    unsigned char min_second = 0x80;
    unsigned char max_second = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) min_second = 0xA0;  // overlong
      if (lead == 0xED) max_second = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) min_second = 0x90;  // overlong
      if (lead == 0xF4) max_second = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      unsigned char low = k == 1 ? min_second : 0x80;
      unsigned char high = k == 1 ? max_second : 0xBF;
      if (byte(i + k) < low || byte(i + k) > high) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

SourceLocation locateOffset(const std::string& source, std::string_view text, size_t offset) {
  std::string_view before = text.substr(0, offset);
  size_t line_start = before.rfind('\n');
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
  return {source, line, static_cast<int>(offset - line_start) + 1};
}

SourceLocation locate(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return {source, 1, 1};
  return {source, mark.line + 1, mark.column + 1};
}

// Walks each distinct node once. yaml-cpp shares one node between an anchor and its aliases, and
// an alias may even point at its own ancestor, so a plain recursive walk could expand a scalar
// twice ("$$" would lose its meaning), loop forever, or take exponential time on an "alias
// bomb". Nodes have no public identity, but distinct nodes of a document start at distinct
// stream positions except for containers sharing a start with their first key, so the position
// narrows the search and Node::is() decides.
class TreeGuard {
 public:
  TreeGuard(const std::string& source, const YamlSourceOptions& options, std::vector<Error>& errors,
            std::set<std::pair<int, int>>& unexpanded)
      : source_(source), options_(options), errors_(errors), unexpanded_(unexpanded) {}

  // False when the tree must not be used.
  bool check(const YAML::Node& root) {
    Shape shape = visit(root, /*is_key=*/false);
    if (!failed_ && shape.size > kMaxExpandedNodes) {
      fail(root, "document has more than " + std::to_string(kMaxExpandedNodes) +
                     " nodes once aliases are followed");
    }
    return !failed_;
  }

 private:
  struct Shape {
    uint64_t size = 1;  // nodes in the subtree with aliases followed, capped
    int height = 1;
  };
  struct Seen {
    YAML::Node node;
    bool done = false;
    Shape shape;
  };

  // Height counts the levels below `node` with aliases followed; exceeding kMaxDepth there also
  // bounds this recursion, whatever yaml-cpp's own parser depth limit is.
  Shape visit(const YAML::Node& node, bool is_key) {
    if (failed_ || !node.IsDefined() || node.IsNull()) return {};
    if (++depth_ > kMaxDepth) {
      fail(node, "document nests deeper than " + std::to_string(kMaxDepth) + " levels");
      --depth_;
      return {};
    }
    std::vector<Seen>& bucket = seen_[node.Mark().pos];
    auto it =
        std::find_if(bucket.begin(), bucket.end(), [&](const Seen& s) { return s.node.is(node); });
    if (it != bucket.end()) {
      if (!it->done) fail(node, "an alias refers to a node that contains it");
      Shape shape = it->shape;
      checkHeight(node, shape);
      --depth_;
      return shape;
    }
    size_t index = bucket.size();
    bucket.push_back({node, false, {}});
    Shape shape;
    if (node.IsScalar()) {
      if (!is_key && options_.expand_env) expand(node);
    } else {
      for (auto child = node.begin(); child != node.end() && !failed_; ++child) {
        if (node.IsMap()) {
          add(shape, visit(child->first, /*is_key=*/true));
          add(shape, visit(child->second, /*is_key=*/false));
        } else {
          add(shape, visit(*child, /*is_key=*/false));
        }
      }
    }
    // `bucket` may have moved while visiting children: look it up again.
    Seen& entry = seen_[node.Mark().pos][index];
    entry.done = true;
    entry.shape = shape;
    checkHeight(node, shape);
    --depth_;
    return shape;
  }

  // A shared subtree reached deep down may push the unfolded depth past the limit.
  void checkHeight(const YAML::Node& node, const Shape& shape) {
    if (depth_ - 1 + shape.height > kMaxDepth) {
      fail(node, "document nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
  }

  static void add(Shape& parent, const Shape& child) {
    parent.size = std::min(parent.size + child.size, kMaxExpandedNodes + 1);
    parent.height = std::max(parent.height, child.height + 1);
  }

  void expand(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    if (text.find('$') == std::string::npos) return;
    Result<std::string> expanded = expandEnv(text);
    if (expanded && invalidUtf8Offset(*expanded) != std::string_view::npos) {
      expanded = Error{{}, "expanding '" + text + "' gives malformed UTF-8"};
    }
    if (!expanded) {
      SourceLocation where = locate(source_, node.Mark());
      errors_.push_back({where, expanded.errors().front().message});
      unexpanded_.emplace(where.line, where.column);
      return;
    }
    // Assigning a scalar keeps the node's mark, so later errors still point at the file.
    YAML::Node target = node;
    target = expanded.value();
  }

  // Only the first fatal problem is reported: the ones after it are its echoes up the tree.
  void fail(const YAML::Node& node, std::string message) {
    if (failed_) return;
    errors_.push_back({locate(source_, node.Mark()), std::move(message)});
    failed_ = true;
  }

  const std::string& source_;
  const YamlSourceOptions& options_;
  std::vector<Error>& errors_;
  std::set<std::pair<int, int>>& unexpanded_;
  std::unordered_map<int, std::vector<Seen>> seen_;
  int depth_ = 0;
  bool failed_ = false;
};

}  // namespace

std::optional<YamlDocument> parseYaml(std::string_view text, const std::string& source,
                                      const YamlSourceOptions& options,
                                      std::vector<Error>& errors) {
  if (size_t offset = invalidUtf8Offset(text); offset != std::string_view::npos) {
    errors.push_back(
        {locateOffset(source, text, offset), "malformed UTF-8 (the file must be UTF-8)"});
    return std::nullopt;
  }
  try {
    YamlDocument document{YAML::Load(std::string(text)), {}};
    if (!TreeGuard(source, options, errors, document.unexpanded).check(document.root)) {
      return std::nullopt;
    }
    return document;
  } catch (const YAML::Exception& e) {
    errors.push_back({locate(source, e.mark), e.msg});
    return std::nullopt;
  }
}

}  // namespace remora::config

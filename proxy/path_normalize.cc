// Dot-segment removal for request paths.
#include "proxy/path_normalize.h"

#include <utility>
#include <vector>

#include "proxy/recycled_strings.h"

namespace remora {

namespace {

// "." / ".." with any of their dots written as %2e.
int dotCount(std::string_view segment) {
  int dots = 0;
  while (!segment.empty()) {
    if (segment.front() == '.') {
      segment.remove_prefix(1);
    } else if (segment.size() >= 3 && segment[0] == '%' && segment[1] == '2' &&
               (segment[2] == 'e' || segment[2] == 'E')) {
      segment.remove_prefix(3);
    } else {
      return 0;
    }
    if (++dots > 2) return 0;
  }
  return dots;
}

}  // namespace

std::string normalizePath(std::string_view target) {
  std::string out;
  normalizePath(target, out);
  return out;
}

void normalizePath(std::string_view target, std::string& out) {
  const size_t query = target.find('?');
  std::string_view path = target.substr(0, query);
  // Fast path: not origin-form, or nothing that could be a dot-segment.
  if (path.empty() || path.front() != '/' ||
      (path.find("/.") == std::string_view::npos && path.find("/%2") == std::string_view::npos)) {
    if (target.data() != out.data() || target.size() != out.size()) assignRecycled(out, target);
    return;
  }
  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(pos, end - pos);
    const bool last = end == path.size();
    const int dots = dotCount(segment);
    if (dots == 1) {
      trailing_slash = last;
    } else if (dots == 2) {
      if (!kept.empty()) kept.pop_back();
      trailing_slash = last;
    } else {
      kept.push_back(segment);
      trailing_slash = false;
    }
    pos = end + 1;
  }
  // Built aside, as `target` may be `out`.
  std::string normalized;
  normalized.reserve(target.size());
  for (std::string_view segment : kept) {
    normalized += '/';
    normalized += segment;
  }
  if (normalized.empty() || trailing_slash) normalized += '/';
  if (query != std::string_view::npos) normalized += target.substr(query);
  out = std::move(normalized);
}

}  // namespace remora

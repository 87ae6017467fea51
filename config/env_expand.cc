// ${VAR} / ${VAR:-default} expansion of config scalars from the process environment.
#include "config/env_expand.h"

#include <cstdlib>

namespace remora::config {
namespace {

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

// The caller adds the scalar's place.
Error unplaced(std::string message) { return Error{{}, std::move(message)}; }

}  // namespace

Result<std::string> expandEnv(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return unplaced("unterminated '${' in '" + std::string(text) + "'");
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    size_t sep = inner.find(":-");
    std::string name(inner.substr(0, sep));
    bool valid = !name.empty() && isNameStart(name[0]);
    for (char n : name) valid = valid && isNameChar(n);
    if (!valid) {
      return unplaced("invalid environment variable name '" + name + "' in '" + std::string(text) +
                      "'");
    }
    const char* value = std::getenv(name.c_str());
    if (sep != std::string_view::npos) {
      out += (value != nullptr && *value != '\0') ? std::string_view(value) : inner.substr(sep + 2);
    } else if (value != nullptr) {
      out += value;
    } else {
      return unplaced("environment variable '" + name + "' is not set (write ${" + name +
                      ":-default} to give a default)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace remora::config

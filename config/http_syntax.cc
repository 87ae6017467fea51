// RFC 9110 tokens and ASCII lowercasing.
#include "config/http_syntax.h"

namespace remora {

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

}  // namespace remora

// RFC 9110 syntax that config validation and the codecs share: tokens and ASCII case.
#pragma once

#include <string>
#include <string_view>

namespace remora {

// tchar (RFC 9110 5.6.2), what method and header names are made of. constexpr so that the
// HTTP/1 parser's character table is built from this one definition.
constexpr bool isTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return c != 0 && kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
}

// True for a non-empty RFC 9110 token (a method, a header name).
bool isToken(std::string_view text);

constexpr char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// ASCII lowercase copy; header names are ASCII tokens.
std::string toLower(std::string_view s);

}  // namespace remora

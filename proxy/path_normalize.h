// Removes dot-segments from a request path, so routes match the path the upstream will serve.
#pragma once

#include <string>
#include <string_view>

namespace remora {

// RFC 3986 5.2.4 on the path part of an origin-form target (the query is kept as is).
// "%2e" counts as "." in a segment, as servers that decode before resolving see it:
// "/public/../admin" and "/public/%2e%2e/admin" both become "/admin".
std::string normalizePath(std::string_view target);
// The same written into `out` (whose buffer, or a recycled one, it reuses); `target` may be a
// view of `out`.
void normalizePath(std::string_view target, std::string& out);

}  // namespace remora

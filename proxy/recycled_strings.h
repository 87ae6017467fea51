// Recycled strings: heap buffers of finished requests' strings, kept per thread for the next.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace remora {

// Sets `to` to `text`, first taking a buffer this thread kept when `to` has no room for it: a
// request's path and authority are often longer than a string holds inline, and a new request's
// strings start empty.
void assignRecycled(std::string& to, std::string_view text);

// Keeps `string`'s heap buffer for assignRecycled (leaving `string` empty) when it is one worth
// keeping: at most 64 per thread, none over 512 bytes. Nothing is kept under AddressSanitizer.
void keepForRecycling(std::string& string);

// How many buffers this thread keeps (for tests).
size_t keptStrings();

}  // namespace remora

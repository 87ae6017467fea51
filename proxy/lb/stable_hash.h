// stableHash: a 64-bit hash of bytes that is the same on every machine and build (std::hash is
// not), for what several remoras must agree on: consistent-hash tables and request keys.
#pragma once

#include <cstdint>
#include <string_view>

namespace remora {

// FNV-1a, then a finalizer that spreads nearby inputs ("10.0.0.1:80#1", "...#2") apart.
inline uint64_t stableHash(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char byte : bytes) hash = (hash ^ byte) * 0x100000001b3ull;
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebull;
  return hash ^ (hash >> 31);
}

}  // namespace remora

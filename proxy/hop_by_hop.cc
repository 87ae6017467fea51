// Hop-by-hop field removal, shared by the HTTP/1.1 and HTTP/2 codecs.
#include "proxy/hop_by_hop.h"

#include <string>
#include <vector>

namespace remora {

// Compared as string_views: a std::string == "literal" compares bytes before lengths.
using std::string_view_literals::operator""sv;

// The fields RFC 9110 7.6.1 says describe one hop, not the message.
bool isHopByHop(std::string_view name, bool keep_upgrade) {
  switch (name.size()) {
    case 2:
      return name == "te";
    case 7:
      return name == "trailer" || (!keep_upgrade && name == "upgrade");
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    default:
      return false;
  }
}

bool upgradePassesOn(const HeaderMap& headers) {
  const std::optional<std::string_view> upgrade_to = headers.get("upgrade");
  return upgrade_to && !equalsIgnoreCase(*upgrade_to, "h2c") &&
         headers.hasToken("connection", "upgrade");
}

namespace {

// The names the Connection fields list beyond those removed anyway (close, keep-alive,
// upgrade...), lowercased; usually none, so nothing is copied or allocated.
std::vector<std::string> namedByConnection(const HeaderMap& headers, bool keep_upgrade) {
  std::vector<std::string> named;
  for (const HeaderField& field : headers) {
    if (field.name != "connection"sv) continue;
    std::string_view list = field.value;
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      const bool usual = item.empty() || equalsIgnoreCase(item, "close") ||
                         equalsIgnoreCase(item, "keep-alive") || equalsIgnoreCase(item, "upgrade");
      if (!usual) {
        std::string name = toLower(item);
        // Content-Length and Host frame and route the message: never droppable this way.
        if (!isHopByHop(name, keep_upgrade) && name != "content-length" && name != "host") {
          named.push_back(std::move(name));
        }
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return named;
}

}  // namespace

void removeHopByHop(HeaderMap& headers, bool keep_upgrade) {
  // Most messages have no Connection field, which the map knows without a walk.
  const std::vector<std::string> named = headers.has("connection")
                                             ? namedByConnection(headers, keep_upgrade)
                                             : std::vector<std::string>();
  headers.removeIf([&](const HeaderField& field) {
    if (isHopByHop(field.name, keep_upgrade)) return true;
    for (const auto& name : named) {
      if (field.name == name) return true;
    }
    return false;
  });
}

}  // namespace remora

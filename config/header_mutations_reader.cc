// Header edit reading, with every error located.
#include "config/header_mutations_reader.h"

#include "config/http_syntax.h"

namespace remora::config {

std::optional<std::string> readHeaderName(YamlReader& reader, const std::string& name,
                                          const SourceLocation& where) {
  if (!isToken(name)) {
    reader.error(where, "'" + name + "' is not a valid header name");
    return std::nullopt;
  }
  return toLower(name);
}

void readHeaderMutations(YamlReader& reader, const Located& at, std::string_view what,
                         HeaderMutations& out) {
  std::optional<Fields> fields = reader.mapping(at, what, {"add", "remove"});
  if (!fields) return;
  if (const Field* f = fields->find("add")) {
    if (auto headers = reader.freeMapping(f->value, "add")) {
      for (const Field& header : headers->all()) {
        std::optional<std::string> value = reader.string(header.value, header.key);
        std::optional<std::string> name = readHeaderName(reader, header.key, header.key_where);
        if (name && value) out.add.emplace_back(*name, *value);
      }
    }
  }
  if (const Field* f = fields->find("remove")) {
    if (auto names = reader.sequence(f->value, "remove")) {
      for (const Located& entry : *names) {
        std::optional<std::string> text = reader.string(entry, "header name");
        if (!text) continue;
        if (auto name = readHeaderName(reader, *text, entry.where)) out.remove.push_back(*name);
      }
    }
  }
}

}  // namespace remora::config

// Filter list reading: each entry a mapping with exactly one key, its config a mapping or empty.
#include "config/filter_list_reader.h"

namespace remora::config {

void readFilterList(YamlReader& reader, const Located& at, std::vector<FilterConfig>& out) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "filters");
  if (!items) return;
  for (const Located& item : *items) {
    if (!item.node.IsMap() || item.node.size() != 1) {
      reader.error(item.where,
                   "each filter must be a mapping with one key, its name, as in "
                   "'- access_log: {format: json}'");
      continue;
    }
    std::optional<Fields> fields = reader.freeMapping(item, "filter");
    if (!fields || fields->all().empty()) continue;
    const Field& field = fields->all().front();
    if (field.key.empty()) {
      reader.error(field.key_where, "filter name must not be empty");
      continue;
    }
    if (!field.value.node.IsMap() && !field.value.node.IsNull()) {
      reader.error(field.value.where, "config of filter '" + field.key +
                                          "' must be a mapping or empty, not " +
                                          std::string(describe(field.value.node)));
      continue;
    }
    out.push_back({field.key, field.value.node, field.key_where});
  }
}

}  // namespace remora::config

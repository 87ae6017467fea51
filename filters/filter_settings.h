// Building a filter's factory from its YAML mapping: the settings read with a reader placed at
// the filter, then the factory made from them, or every error found on the way.
#pragma once

#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/result.h"
#include "config/yaml_reader.h"
#include "filters/filter.h"

namespace remora::filters {

// `read(reader, fields, settings)` fills `Settings` from the mapping's fields (keys in `known`);
// `Factory` is made from the settings when nothing was reported.
template <class Factory, class Settings, class Read>
Result<std::shared_ptr<const FilterFactory>> makeFilterFactory(
    const config::FilterConfig& config, std::string_view what,
    std::initializer_list<std::string_view> known, Read read) {
  config::YamlReader reader(config.location.file);
  Settings settings;
  if (auto fields = reader.mapping({config.config, config.location}, what, known)) {
    read(reader, *fields, settings);
  }
  std::vector<Error> errors = reader.takeErrors();
  if (!errors.empty()) return errors;
  return std::shared_ptr<const FilterFactory>(std::make_shared<Factory>(std::move(settings)));
}

}  // namespace remora::filters

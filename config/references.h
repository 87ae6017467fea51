// Names that one block uses and another defines, checked by the loader once the file is read.
#pragma once

#include <string>
#include <vector>

#include "config/result.h"

namespace remora::config {

struct Reference {
  std::string name;
  SourceLocation where;  // the value naming it, where an unknown name is reported
};

using References = std::vector<Reference>;

}  // namespace remora::config

// ${VAR} / ${VAR:-default} expansion of config scalars from the process environment.
#pragma once

#include <string>
#include <string_view>

#include "config/result.h"

namespace remora::config {

// Expands ${VAR} and ${VAR:-default} (the default also applies when VAR is set but empty, as in
// the shell); "$$" is a literal "$" and any other "$" stays as written. An unset VAR without a
// default is an error naming it. Errors carry no location: the caller knows where the text was.
Result<std::string> expandEnv(std::string_view text);

}  // namespace remora::config

// The command line's config checks: `remora validate FILE [--value VALUE | --from-consul KEY |
// --from-etcd KEY]` and `remora config push VALUE -c FILE`.
#pragma once

namespace remora {

// `argv[1]` is "validate". 0: valid; 1: errors (each printed); 2: a usage or I/O problem.
int validateCommand(int argc, char** argv);
// `argv[1]` is "config". 0: pushed; 1: not valid, or the registry refused it; 2: usage.
int configCommand(int argc, char** argv);

}  // namespace remora

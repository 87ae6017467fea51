// remora's entry point: the command line (run, validate, --version).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("remora %s\n", REMORA_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: remora -c FILE | remora validate FILE | remora --version\n");
  return 2;
}

// The platoon command line: dispatches to the subcommands.
#include <cstdio>
#include <cstring>

#include "platoon/version.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("platoon %s\n", platoon::kVersion);
    return 0;
  }
  std::printf("usage: platoon <serve|check> [options]\n");
  return argc > 1 ? 0 : 2;
}

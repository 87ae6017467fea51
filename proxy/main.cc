// remora's entry point: the command line (run, validate, config push, await, --version).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "config/duration.h"
#include "proxy/await_ready.h"
#include "proxy/config_commands.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/size_class_memory.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  remora -c FILE [--log-level debug|info|warn|error]   run with the config FILE\n"
    "  remora validate FILE                                  check FILE, print every error\n"
    "  remora validate FILE --value VALUE_FILE               check a bootstrap FILE with its\n"
    "                                                        config source's value\n"
    "  remora validate FILE --from-consul|--from-etcd KEY    ... with what KEY holds now\n"
    "  remora config push VALUE_FILE -c FILE                 check, then write to FILE's key\n"
    "  remora await [--admin ADDR] [--timeout DURATION]      wait until remora is ready\n"
    "                                                        (default 127.0.0.1:9901, 60s)\n"
    "  remora --version\n";

int await(int argc, char** argv) {
  std::string admin = "127.0.0.1:9901";
  std::chrono::milliseconds timeout{60000};
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--admin" && i + 1 < argc) {
      admin = argv[++i];
    } else if (arg == "--timeout" && i + 1 < argc) {
      auto parsed = remora::config::parseDuration(argv[++i]);
      if (!parsed) {
        std::fprintf(stderr, "remora await: bad --timeout '%s': %s\n", argv[i],
                     parsed.errors()[0].message.c_str());
        return 2;
      }
      timeout = *parsed;
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  return remora::awaitReady(admin, timeout);
}

bool parseLevel(const std::string& name, remora::log::Level& level) {
  if (name == "debug")
    level = remora::log::Level::Debug;
  else if (name == "info")
    level = remora::log::Level::Info;
  else if (name == "warn")
    level = remora::log::Level::Warn;
  else if (name == "error")
    level = remora::log::Level::Error;
  else
    return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  remora::useRecycledLibeventMemory();  // before anything calls libevent
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("remora %s\n", REMORA_VERSION);
      return 0;
    }
    if (arg == "-h" || arg == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (arg == "validate" && i == 1) return remora::validateCommand(argc, argv);
    if (arg == "config" && i == 1) return remora::configCommand(argc, argv);
    if (arg == "await" && i == 1) return await(argc, argv);
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--log-level" && i + 1 < argc) {
      remora::log::Level level;
      if (!parseLevel(argv[++i], level)) {
        std::fprintf(stderr, "unknown log level '%s'\n%s", argv[i], kUsage);
        return 2;
      }
      remora::log::setLevel(level);
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  remora::log::captureLibeventMessages();
  remora::Server server(config_path);
  return server.run();
}

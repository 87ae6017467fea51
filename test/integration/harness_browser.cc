// HeadlessChromium: the command lines that make Chromium usable in a test: headless, no sandbox
// (the tests may run as root), no GPU, a throwaway profile and nothing fetched from the internet.
#include <cstdlib>
#include <sstream>

#include "integration/harness/browser.h"

namespace remora::harness {

std::string HeadlessChromium::find() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::filesystem::path candidate = std::filesystem::path(dir) / name;
      std::error_code error;
      if (std::filesystem::is_regular_file(candidate, error) &&
          (std::filesystem::status(candidate, error).permissions() &
           std::filesystem::perms::owner_exec) != std::filesystem::perms::none) {
        return candidate.string();
      }
    }
  }
  return "";
}

CommandResult HeadlessChromium::run(const std::string& url, std::chrono::milliseconds virtual_time,
                                    std::vector<std::string> mode_args, Deadline deadline) {
  std::vector<std::string> argv = {
      binary_,
      "--headless",
      // Chromium's sandbox refuses to start as root, which CI containers often are.
      "--no-sandbox",
      "--disable-gpu",
      // Containers have a small /dev/shm.
      "--disable-dev-shm-usage",
      "--user-data-dir=" + profile_.path().string(),
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      // No update checks, safe browsing lists or metrics: the test machine may have no internet.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-pings",
      "--hide-scrollbars",
      "--mute-audio",
      // The page's console messages and errors go to stderr, for the test's failure message.
      "--enable-logging=stderr",
      "--virtual-time-budget=" + std::to_string(virtual_time.count()),
  };
  for (std::string& arg : mode_args) argv.push_back(std::move(arg));
  argv.push_back(url);
  return runCommand(argv, deadline);
}

CommandResult HeadlessChromium::dumpDom(const std::string& url,
                                        std::chrono::milliseconds virtual_time, Deadline deadline) {
  return run(url, virtual_time, {"--dump-dom"}, deadline);
}

CommandResult HeadlessChromium::screenshot(const std::string& url, const std::filesystem::path& png,
                                           int width, int height,
                                           std::chrono::milliseconds virtual_time,
                                           Deadline deadline) {
  return run(url, virtual_time,
             {"--screenshot=" + png.string(),
              "--window-size=" + std::to_string(width) + "," + std::to_string(height)},
             deadline);
}

}  // namespace remora::harness

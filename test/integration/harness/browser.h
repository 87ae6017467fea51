// HeadlessChromium: Debian's `chromium` run headless against a page, for the admin web page's
// tests: the DOM after the page's scripts ran, and a screenshot.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "integration/harness/process.h"
#include "integration/harness/temp_dir.h"
#include "integration/harness/wait.h"

namespace remora::harness {

class HeadlessChromium {
 public:
  // Where the binary is: `chromium` (Debian) or `chromium-browser` in PATH; "" when neither is.
  static std::string find();

  explicit HeadlessChromium(std::string binary) : binary_(std::move(binary)) {}

  // The serialized DOM once the page has run for `virtual_time` (Chromium's virtual time: timers
  // run as fast as the page lets them, network waits are real). The command's exit code, the DOM on
  // stdout and Chromium's log (the page's console messages included) on stderr.
  CommandResult dumpDom(const std::string& url, std::chrono::milliseconds virtual_time,
                        Deadline deadline);
  // A PNG of the viewport after `virtual_time`; exit code 0 and the file written on success.
  CommandResult screenshot(const std::string& url, const std::filesystem::path& png, int width,
                           int height, std::chrono::milliseconds virtual_time, Deadline deadline);

 private:
  CommandResult run(const std::string& url, std::chrono::milliseconds virtual_time,
                    std::vector<std::string> mode_args, Deadline deadline);

  std::string binary_;
  // A fresh --user-data-dir: nothing from another run, removed afterwards.
  TempDir profile_;
};

}  // namespace remora::harness

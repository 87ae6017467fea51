// Temporary directories and whole-file reads and writes for the integration tests.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace remora::harness {

// A fresh directory (mkdtemp under $TMPDIR or /tmp), removed with everything in it on
// destruction unless REMORA_KEEP_TEMP is set in the environment (to look at logs afterwards).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Replaces `path` atomically (write a sibling, then rename), so a process watching or reloading
// the file never reads half of it. Throws std::runtime_error on failure.
void writeFile(const std::filesystem::path& path, std::string_view content);

// The whole file, or "" when it does not exist (yet).
std::string readFile(const std::filesystem::path& path);

}  // namespace remora::harness

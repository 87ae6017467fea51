// Child processes for the integration tests: spawn, signal, wait with a deadline, captured output.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "integration/harness/wait.h"

namespace remora::harness {

// A running child started with posix_spawnp in its own process group, stdin from /dev/null (or
// `stdin_path`), stdout and stderr to `dir/<name>.out` and `dir/<name>.err`, which can be read
// while it runs. Destruction SIGKILLs the group if the child is still running and reaps it.
class Process {
 public:
  // Throws std::runtime_error when the program cannot be started.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& dir,
          const std::string& name, const std::filesystem::path& stdin_path = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool signal(int sig);  // false once the child has been reaped
  bool running();        // reaps it when it has exited

  // The exit code, or 128 + the signal number when a signal ended it; nullopt when it is still
  // running at the deadline.
  std::optional<int> waitExit(Deadline deadline);

  std::string out() const;  // stdout so far
  std::string err() const;  // stderr so far
  const std::filesystem::path& outPath() const { return out_path_; }
  const std::filesystem::path& errPath() const { return err_path_; }

 private:
  bool reap(bool block);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

struct CommandResult {
  int exit_code = -1;  // as Process::waitExit; -1 when it timed out (and was killed)
  std::string out;
  std::string err;
};

// Runs a command to completion (argv[0] is looked up in PATH), feeding it `stdin_text`.
CommandResult runCommand(const std::vector<std::string>& argv, Deadline deadline,
                         std::string_view stdin_text = {});

}  // namespace remora::harness

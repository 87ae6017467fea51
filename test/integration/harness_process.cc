// Process and runCommand: children spawned with posix_spawnp, waited on through a pidfd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "integration/harness/process.h"
#include "integration/harness/temp_dir.h"

extern char** environ;

namespace remora::harness {
namespace {

// Owns posix_spawn's attribute and file-action objects for the length of one spawn.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                 const std::string& name, const std::filesystem::path& stdin_path)
    : out_path_(dir / (name + ".out")), err_path_(dir / (name + ".err")) {
  if (argv.empty()) throw std::runtime_error("Process: empty argv");
  SpawnSetup setup;
  std::string in = stdin_path.empty() ? std::string("/dev/null") : stdin_path.string();
  std::string out = out_path_.string();
  std::string err = err_path_.string();
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&setup.actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);

  // Its own process group (so destruction kills helpers it forks too), no blocked signals and
  // default dispositions even when the test runner ignores SIGHUP or SIGPIPE: ignored signals
  // survive exec, and remora's reload test needs SIGHUP to be deliverable.
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawnp(&pid_, args[0], &setup.actions, &setup.attr, args.data(), environ);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));  // -1: fall back to polling
}

Process::~Process() {
  if (!status_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool Process::reap(bool block) {
  if (status_) return true;
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc == pid_) {
    status_ = decodeStatus(status);
    return true;
  }
  return false;
}

bool Process::signal(int sig) {
  if (status_ || pid_ <= 0) return false;
  return ::kill(pid_, sig) == 0;
}

bool Process::running() { return !reap(false); }

std::optional<int> Process::waitExit(Deadline deadline) {
  if (pidfd_ < 0) {
    if (!waitUntil([this] { return reap(false); }, deadline)) return std::nullopt;
    return status_;
  }
  while (!reap(false)) {
    int timeout = msLeft(deadline);
    pollfd pfd{pidfd_, POLLIN, 0};
    int rc = ::poll(&pfd, 1, timeout);
    if (rc == 0 && Clock::now() >= deadline) return reap(false) ? status_ : std::nullopt;
  }
  return status_;
}

std::string Process::out() const { return readFile(out_path_); }
std::string Process::err() const { return readFile(err_path_); }

CommandResult runCommand(const std::vector<std::string>& argv, Deadline deadline,
                         std::string_view stdin_text) {
  TempDir dir;
  std::filesystem::path in = dir.file("stdin");
  writeFile(in, stdin_text);
  CommandResult result;
  Process process(argv, dir.path(), "command", in);
  std::optional<int> code = process.waitExit(deadline);
  if (!code) {
    process.signal(SIGKILL);
    process.waitExit(deadlineIn(std::chrono::seconds(5)));
  }
  result.exit_code = code.value_or(-1);
  result.out = process.out();
  result.err = process.err();
  return result;
}

}  // namespace remora::harness

// inotify-based file change notification on the main loop.
#include "proxy/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proxy/log.h"

namespace remora {

namespace {
constexpr timeval kSettleTime = {0, 50 * 1000};
}

bool readFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream content;
  content << in.rdbuf();
  out = content.str();
  return true;
}

FileWatcher::FileWatcher(event_base* base)
    : base_(base), fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  if (fd_ < 0) {
    LOG_WARN("inotify unavailable (%s): files are not watched for changes", std::strerror(errno));
    return;
  }
  read_event_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &FileWatcher::onInotify, this);
  event_add(read_event_, nullptr);
  settle_timer_ = evtimer_new(base_, &FileWatcher::onSettled, this);
}

FileWatcher::~FileWatcher() {
  if (read_event_ != nullptr) event_free(read_event_);
  if (settle_timer_ != nullptr) event_free(settle_timer_);
  if (fd_ >= 0) close(fd_);
}

void FileWatcher::watch(const std::string& path,
                        std::function<void(const std::string&)> on_change) {
  Watched watched;
  watched.path = path;
  const size_t slash = path.rfind('/');
  watched.directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  watched.name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string error;
  readFile(path, watched.content, error);
  watched.on_change = std::move(on_change);
  if (fd_ >= 0) {
    watched.wd = inotify_add_watch(fd_, watched.directory.c_str(),
                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY);
    if (watched.wd < 0) {
      LOG_WARN("cannot watch %s: %s", watched.directory.c_str(), std::strerror(errno));
    }
  }
  watched_.push_back(std::move(watched));
}

void FileWatcher::clear() {
  for (const auto& watched : watched_) {
    if (fd_ >= 0 && watched.wd >= 0) inotify_rm_watch(fd_, watched.wd);
  }
  watched_.clear();
}

void FileWatcher::onInotify(evutil_socket_t fd, short, void* self) {
  auto* watcher = static_cast<FileWatcher*>(self);
  alignas(inotify_event) char buffer[8192];
  while (read(fd, buffer, sizeof(buffer)) > 0) {
  }
  // Whatever changed, compare contents once things settle: several events come per save.
  evtimer_add(watcher->settle_timer_, &kSettleTime);
}

void FileWatcher::onSettled(evutil_socket_t, short, void* self) {
  auto* watcher = static_cast<FileWatcher*>(self);
  // Callbacks may re-register watches; work on the list as it was.
  std::vector<std::pair<std::function<void(const std::string&)>, std::string>> changed;
  for (auto& watched : watcher->watched_) {
    std::string content;
    std::string error;
    if (!readFile(watched.path, content, error)) continue;  // mid-replace: the next event comes
    if (content == watched.content) continue;
    watched.content = content;
    changed.emplace_back(watched.on_change, std::move(content));
  }
  for (auto& [callback, content] : changed) callback(content);
}

}  // namespace remora

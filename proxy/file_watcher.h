// FileWatcher: calls back on the main loop when a watched file's content changes.
#pragma once

#include <event2/event.h>

#include <functional>
#include <string>
#include <vector>

namespace remora {

// Watches the directory holding each file (inotify), so replacing a file by rename, as editors
// and Kubernetes config maps do, is seen too. Events are coalesced for a short moment, and the
// callback only runs when the bytes really changed.
class FileWatcher {
 public:
  explicit FileWatcher(event_base* base);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // `on_change` gets the new content. The current content counts as seen.
  void watch(const std::string& path, std::function<void(const std::string&)> on_change);
  void clear();

 private:
  struct Watched {
    std::string path;
    std::string directory;
    std::string name;
    int wd = -1;
    std::string content;
    std::function<void(const std::string&)> on_change;
  };
  static void onInotify(evutil_socket_t fd, short, void* self);
  static void onSettled(evutil_socket_t, short, void* self);

  event_base* base_;
  int fd_;
  event* read_event_ = nullptr;
  event* settle_timer_ = nullptr;
  std::vector<Watched> watched_;
};

// Reads a whole file; false (with `error` set) if it cannot.
bool readFile(const std::string& path, std::string& out, std::string& error);

}  // namespace remora

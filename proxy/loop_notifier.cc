// Cross-thread task posting to an event loop through an eventfd.
#include "proxy/loop_notifier.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace remora {

LoopNotifier::LoopNotifier(event_base* base)
    : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      event_(event_new(base, fd_, EV_READ | EV_PERSIST, &LoopNotifier::onWake, this)) {
  event_add(event_, nullptr);
}

LoopNotifier::~LoopNotifier() {
  event_free(event_);
  close(fd_);
}

void LoopNotifier::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t ignored = write(fd_, &one, sizeof(one));
  (void)ignored;
}

void LoopNotifier::onWake(evutil_socket_t fd, short, void* self) {
  auto* notifier = static_cast<LoopNotifier*>(self);
  uint64_t count;
  ssize_t ignored = read(fd, &count, sizeof(count));
  (void)ignored;
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(notifier->mutex_);
    tasks.swap(notifier->tasks_);
  }
  for (auto& task : tasks) task();
}

}  // namespace remora

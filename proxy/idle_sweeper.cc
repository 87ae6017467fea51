// The idle sweep: an intrusive list and a tick that runs only while the list is not empty.
#include "proxy/idle_sweeper.h"

#include <vector>

namespace remora {

namespace {
constexpr timeval kTick = {0, 100 * 1000};
}  // namespace

IdleSweeper::IdleSweeper(event_base* base)
    : timer_(evtimer_new(base, &IdleSweeper::onTick, this)) {}

IdleSweeper::~IdleSweeper() { event_free(timer_); }

void IdleSweeper::add(Entry& entry) {
  if (entry.listed_) return;
  entry.listed_ = true;
  entry.moved_ = Clock::now();
  entry.seen_progress_ = entry.progress_;
  entry.prev_ = nullptr;
  entry.next_ = head_;
  if (head_ != nullptr) head_->prev_ = &entry;
  head_ = &entry;
  if (!evtimer_pending(timer_, nullptr)) evtimer_add(timer_, &kTick);
}

void IdleSweeper::remove(Entry& entry) {
  if (!entry.listed_) return;
  entry.listed_ = false;
  if (entry.prev_ != nullptr) entry.prev_->next_ = entry.next_;
  if (entry.next_ != nullptr) entry.next_->prev_ = entry.prev_;
  if (head_ == &entry) head_ = entry.next_;
  entry.prev_ = entry.next_ = nullptr;
}

void IdleSweeper::onTick(evutil_socket_t, short, void* self) {
  static_cast<IdleSweeper*>(self)->tick();
}

void IdleSweeper::tick() {
  const Clock::time_point now = Clock::now();
  // Telling a stream may end others (an HTTP/2 connection closing), which leave the list: the
  // still ones are collected first and each is told only while it is listed.
  std::vector<Entry*> still;
  for (Entry* entry = head_; entry != nullptr; entry = entry->next_) {
    if (entry->progress_ != entry->seen_progress_) {
      entry->seen_progress_ = entry->progress_;
      entry->moved_ = now;
      continue;
    }
    still.push_back(entry);
  }
  for (Entry* entry : still) {
    if (entry->listed_) entry->onStill(now - entry->moved_);
  }
  if (head_ != nullptr) evtimer_add(timer_, &kTick);
}

}  // namespace remora

// IdleSweeper: one worker's check on its streams' idle timeouts. A stream joins a list (two
// pointers, no timer) and counts its progress; while any stream is listed, a tick every 100ms
// notes which moved and tells the others how long they have been still. A timer per stream would
// cost a timer-heap insertion and removal per request.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>

namespace remora {

class IdleSweeper {
 public:
  using Clock = std::chrono::steady_clock;

  class Entry {
   public:
    virtual ~Entry() = default;
    // Progress either way; the next tick sees it.
    void touch() { ++progress_; }
    // Called on a tick with how long nothing moved (0 when something did since the last tick).
    virtual void onStill(Clock::duration still) = 0;

   private:
    friend class IdleSweeper;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    bool listed_ = false;
    uint64_t progress_ = 0;
    uint64_t seen_progress_ = 0;
    Clock::time_point moved_;
  };

  explicit IdleSweeper(event_base* base);
  ~IdleSweeper();
  IdleSweeper(const IdleSweeper&) = delete;
  IdleSweeper& operator=(const IdleSweeper&) = delete;

  void add(Entry& entry);
  void remove(Entry& entry);

 private:
  static void onTick(evutil_socket_t, short, void* self);
  void tick();

  event* timer_;
  Entry* head_ = nullptr;
};

}  // namespace remora

// A store's answer given on the next turn of the loop.
#include "discovery/canary/fleet_store.h"

namespace remora::canary {
namespace {

class SoonCall : public discovery::HttpCall {
 public:
  SoonCall(event_base* base, std::function<void()> then)
      : then_(std::move(then)), timer_(evtimer_new(base, &SoonCall::onTimer, this)) {
    const timeval now = {0, 0};
    evtimer_add(timer_, &now);
  }
  ~SoonCall() override { event_free(timer_); }

 private:
  static void onTimer(evutil_socket_t, short, void* self) {
    // `then` may destroy this call: it is moved out first.
    auto then = std::move(static_cast<SoonCall*>(self)->then_);
    then();
  }

  std::function<void()> then_;
  event* timer_;
};

}  // namespace

std::unique_ptr<discovery::HttpCall> answerSoon(event_base* base, std::function<void()> then) {
  return std::make_unique<SoonCall>(base, std::move(then));
}

}  // namespace remora::canary

// DetachedSet: adopt at the back, release by swapping the last into the freed slot.
#include "proxy/detached_set.h"

namespace remora {

void DetachedSet::adopt(std::unique_ptr<DetachedWork> work) {
  work->slot_ = works_.size();
  work->held_ = true;
  works_.push_back(std::move(work));
}

std::unique_ptr<DetachedWork> DetachedSet::release(DetachedWork& work) {
  const size_t slot = work.slot_;
  std::unique_ptr<DetachedWork> out = std::move(works_[slot]);
  if (slot + 1 != works_.size()) {
    works_[slot] = std::move(works_.back());
    works_[slot]->slot_ = slot;
  }
  works_.pop_back();
  out->held_ = false;
  return out;
}

void DetachedSet::clear() {
  // A work's destructor may not reach the set: it is taken out first.
  std::vector<std::unique_ptr<DetachedWork>> works = std::move(works_);
  works_.clear();
  for (auto& work : works) work->held_ = false;
  works.clear();
}

}  // namespace remora

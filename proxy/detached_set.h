// DetachedSet: a worker's work that outlives the stream that began it (a shadow copy still
// waiting for its answer), owned until it says it is done.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "proxy/deferrable.h"

namespace remora {

class DetachedSet;

// Work that a DetachedSet can own. It knows its place, so that leaving the set costs nothing.
class DetachedWork : public Deferrable {
 private:
  friend class DetachedSet;
  size_t slot_ = 0;
  bool held_ = false;
};

class DetachedSet {
 public:
  DetachedSet() = default;
  DetachedSet(const DetachedSet&) = delete;
  DetachedSet& operator=(const DetachedSet&) = delete;

  void adopt(std::unique_ptr<DetachedWork> work);
  // Gives back `work`, which the set held, for its owner to destroy (deferred, when called from
  // the work's own callbacks).
  std::unique_ptr<DetachedWork> release(DetachedWork& work);
  bool holds(const DetachedWork& work) const { return work.held_; }
  size_t size() const { return works_.size(); }
  // Destroys every work still held (the worker is stopping).
  void clear();

 private:
  std::vector<std::unique_ptr<DetachedWork>> works_;
};

}  // namespace remora

// Deferrable: anything whose destruction must wait until the current callback has returned.
#pragma once

namespace remora {

class Deferrable {
 public:
  virtual ~Deferrable() = default;
};

}  // namespace remora

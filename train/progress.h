// Progress of a training run: on a terminal, a bar redrawn in place with the
// epoch, batch, loss, throughput and ETA; otherwise one plain line per epoch.
#pragma once

#include <cstdint>
#include <iosfwd>

#include "train/metrics.h"

namespace redes::train {

struct EpochRecord;

class ProgressDisplay {
 public:
  // `out` may be null (no output). Uses the bar when `out` is std::cerr or
  // std::cout and that stream is a terminal.
  explicit ProgressDisplay(std::ostream* out);
  bool enabled() const { return out_ != nullptr && terminal_; }
  void batch(std::int64_t epoch, std::int64_t epochs, std::int64_t batch, std::int64_t batches, const Metrics& so_far,
             double seconds);
  void epoch_done(const EpochRecord& record, std::int64_t epochs);

 private:
  std::ostream* out_;
  bool terminal_;
};

}  // namespace redes::train

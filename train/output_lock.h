// One training run per output folder: an advisory lock (flock) on
// `<folder>/.redes.lock`, holding the owner's pid. A second run into the
// folder fails at once and names the holder, instead of interleaving metric
// lines and racing for the checkpoint. The kernel drops the lock when the
// owner exits, however it exits (kill -9 included), so a stale lock never
// blocks the next run; the file itself stays.
#pragma once

#include <string>

#include "core/export.h"

namespace redes::train {

class REDES_API OutputLock {
 public:
  // Creates the folder if needed. Throws redes::Error naming the folder and
  // the holder's pid when another process holds the lock.
  explicit OutputLock(const std::string& folder);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int descriptor_ = -1;
};

}  // namespace redes::train

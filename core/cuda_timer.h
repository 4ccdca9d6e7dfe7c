// Times work queued on a CUDA device with a pair of CUDA events recorded on
// the stream redes uses for that device (benchmarks: times on the GPU, after
// the host has queued the work, without host timing noise).
//
//   redes::cuda::EventTimer timer;
//   timer.start();
//   for (int i = 0; i < 10; ++i) y = f(x);   // queued on cuda:0
//   const double ms = timer.stop() / 10;
#pragma once

#include "core/export.h"

namespace redes::cuda {

class REDES_API EventTimer {
 public:
  // Throws redes::Error when the device cannot be used.
  explicit EventTimer(int device = 0);
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // Records the first event behind the work queued so far.
  void start();
  // Records the second event, waits for it and returns the milliseconds
  // between the two events.
  double stop();

 private:
  int device_;
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;   // cudaEvent_t
};

}  // namespace redes::cuda

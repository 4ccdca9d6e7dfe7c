// CUDA graphs: the kernels and copies a piece of host code queues on a
// device, captured once and replayed with a single launch. A training step
// of small kernels spends most of its time launching them; a replay launches
// the whole step at once.
//
//   Tensor x = static_input.clone();          // buffers the step reads
//   Tensor loss;
//   cuda::Graph graph = cuda::Graph::capture(0, [&] { loss = step(x); });
//   for (...) {
//     x.copy_(next_batch);                    // new data into the same buffer
//     graph.replay();                         // loss now holds this step's value
//   }
//
// What a replay repeats is exactly the captured work: the same kernels with
// the same arguments on the same memory. Host code in the body does not run
// again, so its values are frozen: a learning rate passed to a kernel stays
// the captured one, and a shape that changes needs a new capture. Memory the
// body allocates comes from a pool of the graph's own (its capture stream's
// blocks), which no other work reuses while the graph lives, so tensors made
// in the body and kept (the loss above) hold the values of the last replay.
// After the graph is destroyed its blocks stay cached under its capture
// stream until allocator_for(device).empty_cache() hands them back (the
// Trainer does so whenever it drops a graph).
//
// Capture fails with a redes::Error saying why when the body does something a
// graph cannot hold: waiting for the device (item(), to_vector(), a copy to
// the host), drawing random numbers (each replay would repeat them), or a
// CUDA call that capture does not support. The body's work has then not run.
#pragma once

#include <functional>
#include <memory>

#include "core/export.h"

namespace redes::cuda {

class REDES_API Graph {
 public:
  // Runs `body` with a new stream of `device` current, capturing what it
  // queues there instead of running it. The device's current stream is
  // waited for first, so the body may read what earlier work wrote.
  static Graph capture(int device, const std::function<void()>& body);

  // Queues the captured work on the device's current stream.
  void replay() const;
  int device() const;

  struct State;  // defined by the runtime

 private:
  explicit Graph(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// True while the calling thread runs the body of a Graph::capture: ops that
// a replay could not repeat faithfully (random draws) refuse then.
REDES_API bool capture_in_progress();

}  // namespace redes::cuda

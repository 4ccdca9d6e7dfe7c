// The training step of a fit with FitOptions::cuda_graph: captured once as a
// CUDA graph (core/cuda_graph.h) and replayed for every batch of the captured
// shapes, the batch copied first into the buffers the graph reads. Internal
// to the Trainer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "core/cuda_graph.h"
#include "core/tensor.h"
#include "train/optim/optimizer.h"

namespace redes::train {

class GraphedStep {
 public:
  // The step as the Trainer runs it without a graph: forward, loss, backward
  // and the optimizer's update on (inputs, targets); returns (output, loss).
  using Step = std::function<std::pair<Tensor, Tensor>(const Tensor& inputs, const Tensor& targets)>;

  // `unusable`: why this fit cannot capture its step ("" when it may try);
  // said once on `log` (std::cerr when null), and every step then runs
  // without a graph.
  GraphedStep(optim::Optimizer& optimizer, Device device, const std::string& unusable, std::ostream* log);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // One step on this batch. Without a graph: the first step (it makes the
  // optimizer's state and settles kernel choices, which a graph must find
  // made), a batch of other shapes than the captured one (a short last
  // batch), and every step after a capture failed. Otherwise by replay,
  // capturing first when there is no graph for the current learning rate.
  std::pair<Tensor, Tensor> run(const Tensor& inputs, const Tensor& targets, const Step& step);

  std::int64_t replays() const { return replays_; }

 private:
  struct Captured {
    cuda::Graph graph;
    Tensor inputs, targets;  // what the graph reads
    Tensor output, loss;     // what it writes
    double learning_rate;    // a kernel argument the graph froze
  };

  bool fits(const Tensor& inputs, const Tensor& targets) const;
  // Drops the graph and hands the device memory it held back to the system.
  void release_graph();
  // Captures `step` on copies of the batch; false (said on the log) when
  // the step cannot be captured.
  bool capture(const Tensor& inputs, const Tensor& targets, const Step& step);
  void say(const std::string& message) const;

  optim::Optimizer& optimizer_;
  Device device_;
  std::ostream* log_;
  bool disabled_;
  bool warmed_up_ = false;
  std::unique_ptr<Captured> captured_;
  std::int64_t replays_ = 0;
};

}  // namespace redes::train

#include "train/graphed_step.h"

#include <iostream>

#include "core/allocator.h"
#include "core/error.h"

namespace redes::train {

GraphedStep::GraphedStep(optim::Optimizer& optimizer, Device device, const std::string& unusable,
                         std::ostream* log)
    : optimizer_(optimizer), device_(device), log_(log), disabled_(!unusable.empty()) {
  if (disabled_) say(unusable);
}

std::pair<Tensor, Tensor> GraphedStep::run(const Tensor& inputs, const Tensor& targets, const Step& step) {
  if (disabled_ || !warmed_up_) {
    warmed_up_ = true;
    return step(inputs, targets);
  }
  // A schedule changed the learning rate, which the graph holds as a kernel
  // argument: the step is captured again.
  if (captured_ && captured_->learning_rate != optimizer_.learning_rate()) release_graph();
  if (captured_ && !fits(inputs, targets)) return step(inputs, targets);
  if (!captured_) {
    if (!capture(inputs, targets, step)) return step(inputs, targets);
  } else {
    captured_->inputs.copy_(inputs);
    captured_->targets.copy_(targets);
  }
  // The capture ran nothing: its batch is trained on by the first replay.
  captured_->graph.replay();
  ++replays_;
  return {captured_->output, captured_->loss};
}

GraphedStep::~GraphedStep() {
  try {
    release_graph();
  } catch (const Error& error) {
    say(std::string("releasing the graph's memory failed: ") + error.what());
  }
}

void GraphedStep::release_graph() {
  if (!captured_) return;
  captured_.reset();
  // Its blocks stay cached under its capture stream, which no work uses any
  // more: handed back, so that each capture does not keep the memory of the
  // ones before it for the rest of the process.
  allocator_for(device_).empty_cache();
}

bool GraphedStep::fits(const Tensor& inputs, const Tensor& targets) const {
  const auto same = [](const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() && a.device() == b.device();
  };
  return same(inputs, captured_->inputs) && same(targets, captured_->targets);
}

bool GraphedStep::capture(const Tensor& inputs, const Tensor& targets, const Step& step) {
  const Tensor static_inputs = inputs.clone(), static_targets = targets.clone();
  Tensor output, loss;
  optimizer_.keep_step_on_device();
  try {
    cuda::Graph graph = cuda::Graph::capture(
        device_.index, [&] { std::tie(output, loss) = step(static_inputs, static_targets); });
    captured_ = std::make_unique<Captured>(
        Captured{std::move(graph), static_inputs, static_targets, output, loss, optimizer_.learning_rate()});
  } catch (const Error& error) {
    disabled_ = true;
    say(error.what());
    // Gradients the failed capture left behind were never computed.
    optimizer_.zero_grad();
    return false;
  }
  return true;
}

void GraphedStep::say(const std::string& message) const {
  std::ostream& out = log_ != nullptr ? *log_ : std::cerr;
  out << "cuda graph: " << message << "; the steps run without a graph\n";
}

}  // namespace redes::train

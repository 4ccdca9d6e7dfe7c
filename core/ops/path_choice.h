// Auto selection between ways of computing an op that are not one kernel
// call each (lstm_layers: the per-step cells or an implementation of the
// whole-sequence op; max_pool2d: cuDNN's values-only pooling or the kernel
// that also finds the indices; linear_activation: the fused kernel or
// cuBLAS and the activation op).
// Internal.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace redes::detail {

// One way: the op's outputs from its inputs, recording autograd as usual.
struct ComputePath {
  std::string name;  // as in `redes info` and tuned(): "cuda.hand", "cudnn"
  std::function<std::vector<Tensor>(const std::vector<Tensor>&)> run;
};

// The name of the path to run for `key` (the op's shapes and options; the
// device, dtype, deterministic and TF32 settings and whether a backward is
// timed are added). The first call of a key runs every path on detached
// copies of `inputs` (so no caller's gradient changes): the forward, and
// when grad mode is on and an input requires grad, the backward of the sum
// of all outputs into copies of those inputs, timed with CUDA events on the
// current stream. The first path is the reference whose outputs and input
// gradients the others must match; the fastest that does is cached like
// kernel choices (KernelRegistry::choose_alternative). `inputs` are on one
// CUDA device.
std::string choose_path(const std::string& op, const std::string& key, const std::vector<Tensor>& inputs,
                        const std::vector<ComputePath>& paths);

}  // namespace redes::detail

// The CUDA sum kernels (kernels/cuda/reduce.cu) for other hand kernels that
// need a sum inside them, such as a bias gradient (the whole-sequence LSTM).
#pragma once

#include "kernels/exec_context.h"
#include "kernels/tensor_arg.h"

namespace redes::cuda {

// out = the sum of in over the dims where out has size 1 and in does not, on
// ctx's stream; the same order, and so the same bits, as the sum op.
// Instantiated for float and double.
template <class T>
void sum_into(const TensorArg& out, const TensorArg& in, const ExecContext& ctx);

}  // namespace redes::cuda

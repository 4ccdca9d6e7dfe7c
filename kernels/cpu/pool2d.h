// What the CPU's hand pooling kernels offer to the other CPU implementations.
#pragma once

#include "kernels/exec_context.h"
#include "kernels/params.h"
#include "kernels/tensor_arg.h"

namespace redes::cpu {

// max_pool2d's values into `out` (contiguous; float32 or a 16-bit type) from
// `input`, NaN propagating as in the hand kernel, whose indices go to
// scratch: for a vendor max pooling that lets NaN lose to a number.
void max_pool2d_values(const Pool2dShape& shape, const Window2d& window, const TensorArg& out, const TensorArg& input,
                       const ExecContext& ctx);

}  // namespace redes::cpu

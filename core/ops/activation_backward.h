// The backward kernels of the activations whose gradient is an expression
// of their output (one binary kernel each, differentiable again for
// create_graph): relu, sigmoid and tanh's own backward rules, and the fused
// linear op's. Internal.
#pragma once

#include "core/tensor.h"

namespace redes::detail {

// g where relu's output `out` is positive, else 0.
Tensor relu_backward(const Tensor& g, const Tensor& out);
// g * s * (1 - s) for sigmoid's output s.
Tensor sigmoid_backward(const Tensor& g, const Tensor& s);
// g * (1 - t * t) for tanh's output t.
Tensor tanh_backward(const Tensor& g, const Tensor& t);

}  // namespace redes::detail

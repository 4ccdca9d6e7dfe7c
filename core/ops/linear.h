// The fused linear op: a linear layer and the activation after it as one
// kernel call (a GEMM that applies the bias and the activation as it stores
// each result). nn::Linear and nn::Sequential (a Linear followed by ReLU,
// Sigmoid or Tanh) use it. Internal.
#pragma once

#include "core/export.h"
#include "core/tensor.h"
#include "kernels/params.h"

namespace redes::detail {

// activation(x @ weight^T + bias): x (m, k), weight (n, k), bias (n) or
// undefined; the result (m, n). Gradients flow to all three. Where no fused
// kernel serves the call (a 16-bit dtype, autocast), it is addmm and the
// activation op. On CUDA, hand runs the fused hand kernel, vendor cuBLAS's
// GEMM and the activation op, and auto times the two once per shape.
REDES_API Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation activation);

}  // namespace redes::detail

// Ops that run a layer and the activation after it as one kernel call:
// linear_activation (a GEMM that applies the bias and the activation as it
// stores each result) and conv2d_relu (a convolution whose output pass
// applies the ReLU: oneDNN's post-op, the hand CPU kernel's store).
// nn::Sequential uses them for a Linear followed by ReLU, Sigmoid
// or Tanh and a Conv2d followed by ReLU. Internal.
#pragma once

#include "core/export.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "kernels/params.h"

namespace redes::detail {

// activation(x @ weight^T + bias): x (m, k), weight (n, k), bias (n) or
// undefined; the result (m, n). Gradients flow to all three. Where no fused
// kernel serves the call (a 16-bit dtype, autocast), it is addmm and the
// activation op. On CUDA, hand runs the fused hand kernel, vendor cuBLAS's
// GEMM and the activation op, and auto times the two once per shape.
REDES_API Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation activation);

// relu(conv2d(input, weight, bias, options)), as one kernel call where the
// implementation conv2d would run fuses the ReLU (oneDNN and the hand
// kernel on the CPU; the result is conv2d's and relu's bit for bit), else
// as the two ops.
// Gradients flow to all three.
REDES_API Tensor conv2d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias, Conv2dOptions options);

}  // namespace redes::detail

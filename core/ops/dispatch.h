// How front-ends hand work to kernels. Internal.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/registry.h"
#include "kernels/tensor_arg.h"

namespace redes::detail {

// The kernel view of a tensor; `op` names the caller in errors (too many dims).
TensorArg kernel_arg(const Tensor& tensor, const char* op);
// The kernel view of `tensor` broadcast to `shape` (stride 0 on broadcast dims).
TensorArg broadcast_arg(const Tensor& tensor, const Shape& shape, const char* op);

// Runs the implementation of Params::op that the registry selects.
void run_kernel(const char* op, const void* params, Device device, DType dtype,
                std::initializer_list<TensorArg> args);
// The same for ops whose argument count depends on the call (lstm_sequence).
// Returns the name of the implementation that ran, for a backward op that
// must run the same one (run_kernel_named).
std::string run_kernel(const char* op, const void* params, Device device, DType dtype,
                       const std::vector<TensorArg>& args);
// Runs the implementation called `name` of `op`: the backward of a forward
// that left data only that implementation reads (lstm_sequence's reserve).
void run_kernel_named(const std::string& name, const char* op, const void* params, Device device, DType dtype,
                      const std::vector<TensorArg>& args);

template <class Params>
void launch(const Params& params, Device device, DType dtype, std::initializer_list<TensorArg> args) {
  run_kernel(Params::op, &params, device, dtype, args);
}

// Checks that all defined tensors live on one device; returns it.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_defined(const Tensor& tensor, const char* op, const char* what);

}  // namespace redes::detail

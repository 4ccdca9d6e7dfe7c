// Checking a differentiable function's gradients against finite
// differences, for users writing their own ops and autograd functions (as
// torch.autograd.gradcheck):
//
//   const GradcheckResult check = gradcheck([](const std::vector<Tensor>& in) { return my_op(in[0], in[1]); },
//                                           {x, y});
//   if (!check) std::cerr << check.message;
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

struct GradcheckOptions {
  double eps = 1e-6;   // central-difference step
  double atol = 1e-6;  // a gradient element passes when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  std::uint64_t seed = 4242;  // of the random weights w below
};

struct GradcheckResult {
  bool ok = false;
  std::string message;  // what differs (up to five elements per input), or why nothing could be checked
  explicit operator bool() const { return ok; }
};

// Compares the autograd gradients of sum(f(inputs) * w), for fixed random
// weights w, with central differences. Every float64 input is checked (made
// a leaf that requires grad); inputs of other dtypes pass through as they
// are, and float32 inputs are refused (their rounding swamps the differences).
// Runs on any device.
REDES_API GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                    const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace redes

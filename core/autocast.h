// Automatic mixed precision for C++ programs, as torch.autocast: inside an
// `autocast` scope, the ops that gain most from 16-bit math (matmul, addmm
// and so linear, the convolutions, the recurrent layers) run on float16 or
// bfloat16 copies of their float32 operands and return 16-bit results, while
// the ops that need range or precision (softmax, log_softmax, sum, mean, var,
// the losses and the normalisation layers) take 16-bit inputs back to
// float32. Parameters stay float32: the copy is a recorded conversion, so their
// gradients come back in float32 (the master weights). Backward passes run
// without autocast: each op's backward keeps the dtypes of its forward.
//
//   redes::autocast scope(redes::kBFloat16);
//   const Tensor loss = nn::cross_entropy(model.forward(x), y);  // float32 loss
//   // ... after the scope: loss.backward(); optimizer.step();
#pragma once

#include <optional>

#include "core/dtype.h"
#include "core/export.h"
#include "core/tensor.h"

namespace redes {

// Sets (or, with enabled = false, clears) the autocast dtype of this thread
// for the guard's life, and restores the previous setting after.
class REDES_API autocast {
 public:
  // dtype: kBFloat16 or kFloat16 (anything else is an error).
  explicit autocast(DType dtype, bool enabled = true);
  ~autocast();
  autocast(const autocast&) = delete;
  autocast& operator=(const autocast&) = delete;

 private:
  std::optional<DType> previous_;
};

// This thread's autocast dtype, if a scope is active.
REDES_API std::optional<DType> autocast_dtype();

namespace detail {

// For the 16-bit ops: x converted to the autocast dtype when a scope is
// active and x is float32 or the other 16-bit type; x itself otherwise
// (float64 and integer tensors are never cast, as in PyTorch).
REDES_API Tensor autocast_to_low_precision(const Tensor& x);
// For the float32 ops: a 16-bit x converted to float32 when a scope is
// active; x itself otherwise.
REDES_API Tensor autocast_to_float32(const Tensor& x);

}  // namespace detail

}  // namespace redes

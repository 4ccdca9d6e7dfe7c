// Dropout as one fused kernel (DropoutParams): the Philox draw, the mask and
// the scale in one pass over the input.
//
// Backward regenerates the mask from (seed, offset) instead of saving it: the
// gradient of dropout is the same kernel applied to the output's gradient.
// That keeps no mask alive between forward and backward (the composite saved a
// full tensor of the input's dtype), at the cost of redoing the Philox rounds,
// which are arithmetic the kernel hides behind its memory traffic.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/random.h"
#include "kernels/params.h"
#include "kernels/philox.h"

namespace redes {

namespace {

// out (contiguous, x's shape) = x with the mask of `params` applied; x may be
// strided. Linear in x, so its gradient is the same masking (which also
// serves a second differentiation).
Tensor apply_mask(const Tensor& x, const DropoutParams& params) {
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  if (out.numel() > 0) {
    detail::launch(params, x.device(), x.dtype(),
                   {detail::kernel_arg(out, "dropout"), detail::kernel_arg(x, "dropout")});
  }
  if (needs_grad({&x})) {
    record_op("dropout", out, {&x}, {}, [params](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{apply_mask(g, params)};
    });
  }
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  REDES_CHECK(x.defined(), "dropout: the input is an undefined tensor");
  REDES_CHECK(p >= 0.0 && p <= 1.0, "dropout: expected p in [0, 1], got ", p);
  REDES_CHECK(is_floating(x.dtype()), "dropout: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;  // every element dropped; keeps the graph (zero gradient)
  // The mask is the draw bernoulli(x.shape(), 1 - p) would make: same blocks
  // reserved, same seed, same comparison.
  Generator& source = generator != nullptr ? *generator : default_generator();
  DropoutParams params{static_cast<float>(1.0 - p), 1.0 / (1.0 - p), 0, 0};
  params.offset = source.reserve(philox::blocks_used(static_cast<std::uint64_t>(x.numel()), false));
  params.seed = source.seed();
  return apply_mask(x, params);
}

}  // namespace redes

// Dropout as a composition: a Philox Bernoulli mask times the input, scaled.
// The gradient follows from mul (the mask is saved there).
#include "core/ops.h"
#include "core/random.h"

namespace redes {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  REDES_CHECK(x.defined(), "dropout: the input is an undefined tensor");
  REDES_CHECK(p >= 0.0 && p <= 1.0, "dropout: expected p in [0, 1], got ", p);
  REDES_CHECK(is_floating(x.dtype()), "dropout: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;  // every element dropped; keeps the graph (zero gradient)
  const Tensor keep = bernoulli(x.shape(), 1.0 - p, {x.dtype(), x.device()}, generator);
  return x * (keep * (1.0 / (1.0 - p)));
}

}  // namespace redes

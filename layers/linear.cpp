#include "layers/linear.h"

#include <cmath>

#include "core/ops.h"
#include "layers/init.h"

namespace redes::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias)
    : in_features_(in_features), out_features_(out_features), has_bias_(bias) {
  REDES_CHECK(in_features > 0 && out_features > 0, "Linear: expected positive sizes, got in_features=",
              in_features, ", out_features=", out_features);
  Tensor weight = empty({out_features, in_features});
  init::kaiming_uniform_(weight);
  register_parameter("weight", weight);
  if (bias) {
    Tensor b = empty({out_features});
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(b, -bound, bound);
    register_parameter("bias", b);
  }
}

Tensor Linear::forward(const Tensor& input) {
  REDES_CHECK(input.defined() && input.dim() >= 1 && input.size(-1) == in_features_, "Linear: expected an input "
              "whose last dim is in_features=", in_features_, ", got shape ",
              input.defined() ? shape_str(input.shape()) : std::string("(undefined)"));
  const Tensor& w = weight();
  if (has_bias_ && input.dim() == 2) return addmm(bias(), input, w.t());
  Tensor out = matmul(input, w.t());
  return has_bias_ ? out + bias() : out;
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
         ", bias=" + (has_bias_ ? "true" : "false");
}

}  // namespace redes::nn

#include "layers/activations.h"

#include "core/ops.h"

namespace redes::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

Tensor Flatten::forward(const Tensor& input) {
  const std::int64_t ndim = input.dim();
  const std::int64_t start = wrap_dim(start_dim_, ndim, "Flatten"), end = wrap_dim(end_dim_, ndim, "Flatten");
  REDES_CHECK(start <= end, "Flatten: start_dim ", start_dim_, " comes after end_dim ", end_dim_, " for shape ",
              shape_str(input.shape()));
  Shape shape(input.shape().begin(), input.shape().begin() + start);
  std::int64_t merged = 1;
  for (std::int64_t d = start; d <= end; ++d) merged *= input.size(d);
  shape.push_back(merged);
  shape.insert(shape.end(), input.shape().begin() + end + 1, input.shape().end());
  return input.reshape(shape);
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

}  // namespace redes::nn

#include "layers/activations.h"

#include <cmath>
#include <sstream>

#include "core/ops.h"

namespace redes::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }
Tensor GELU::forward(const Tensor& input) { return gelu(input, approximate_); }
std::string GELU::extra_repr() const { return approximate_ == GeluApproximation::Tanh ? "approximate='tanh'" : ""; }
Tensor SiLU::forward(const Tensor& input) { return silu(input); }

LeakyReLU::LeakyReLU(double negative_slope) : negative_slope_(negative_slope) {
  REDES_CHECK(std::isfinite(negative_slope), "LeakyReLU: expected a finite negative_slope, got ", negative_slope);
}
Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
std::string LeakyReLU::extra_repr() const {
  std::ostringstream text;
  text << "negative_slope=" << negative_slope_;
  return text.str();
}

Tensor Flatten::forward(const Tensor& input) { return input.flatten(start_dim_, end_dim_); }

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

Unflatten::Unflatten(std::int64_t dim, Shape sizes) : dim_(dim), sizes_(std::move(sizes)) {
  REDES_CHECK(!sizes_.empty(), "Unflatten: expected at least one size");
  for (const std::int64_t size : sizes_) {
    REDES_CHECK(size > 0, "Unflatten: expected positive sizes, got ", shape_str(sizes_));
  }
}

Tensor Unflatten::forward(const Tensor& input) {
  const std::int64_t d = wrap_dim(dim_, input.dim(), "Unflatten");
  REDES_CHECK(numel_of(sizes_) == input.size(d), "Unflatten: sizes ", shape_str(sizes_), " hold ", numel_of(sizes_),
              " elements, but dim ", dim_, " of shape ", shape_str(input.shape()), " has ", input.size(d));
  Shape shape(input.shape().begin(), input.shape().begin() + d);
  shape.insert(shape.end(), sizes_.begin(), sizes_.end());
  shape.insert(shape.end(), input.shape().begin() + d + 1, input.shape().end());
  return input.reshape(shape);
}

std::string Unflatten::extra_repr() const { return "dim=" + std::to_string(dim_) + ", sizes=" + shape_str(sizes_); }

}  // namespace redes::nn

#include "layers/init.h"

#include <cmath>

#include "core/error.h"

namespace redes::nn::init {

namespace {

std::int64_t receptive_field(const Tensor& weight) {
  std::int64_t size = 1;
  for (std::int64_t d = 2; d < weight.dim(); ++d) size *= weight.size(d);
  return size;
}

// Replaces the values of `tensor` (which may require grad) with `values`.
void assign(Tensor& tensor, const Tensor& values) {
  NoGradGuard no_grad;
  tensor.copy_(values);
}

}  // namespace

std::int64_t fan_in(const Tensor& weight) {
  REDES_CHECK(weight.dim() >= 2, "init: fan_in needs a weight of at least 2 dims, got shape ", shape_str(weight.shape()));
  return weight.size(1) * receptive_field(weight);
}

std::int64_t fan_out(const Tensor& weight) {
  REDES_CHECK(weight.dim() >= 2, "init: fan_out needs a weight of at least 2 dims, got shape ",
              shape_str(weight.shape()));
  return weight.size(0) * receptive_field(weight);
}

void uniform_(Tensor& tensor, double low, double high, Generator* generator) {
  assign(tensor, uniform(tensor.shape(), low, high, {tensor.dtype(), Device::cpu()}, generator));
}

void normal_(Tensor& tensor, double mean, double std, Generator* generator) {
  assign(tensor, normal(tensor.shape(), mean, std, {tensor.dtype(), Device::cpu()}, generator));
}

void constant_(Tensor& tensor, double value) {
  NoGradGuard no_grad;
  tensor.fill_(value);
}

void zeros_(Tensor& tensor) { constant_(tensor, 0.0); }
void ones_(Tensor& tensor) { constant_(tensor, 1.0); }

void kaiming_uniform_(Tensor& tensor, double a, Generator* generator) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in(tensor)));
  uniform_(tensor, -bound, bound, generator);
}

void kaiming_normal_(Tensor& tensor, double a, Generator* generator) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  normal_(tensor, 0.0, gain / std::sqrt(static_cast<double>(fan_in(tensor))), generator);
}

void xavier_uniform_(Tensor& tensor, double gain, Generator* generator) {
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in(tensor) + fan_out(tensor)));
  uniform_(tensor, -bound, bound, generator);
}

}  // namespace redes::nn::init

// Parameter initialisers. Each fills the tensor in place (without recording
// history) from a Generator, the process-wide one by default, so
// manual_seed(s) makes model construction reproducible.
#pragma once

#include <cstdint>

#include "core/export.h"
#include "core/random.h"
#include "core/tensor.h"

namespace redes::nn::init {

// fan_in and fan_out of a weight: dims 1 and 0, times the receptive field
// (the product of the remaining dims) for convolution weights.
REDES_API std::int64_t fan_in(const Tensor& weight);
REDES_API std::int64_t fan_out(const Tensor& weight);

REDES_API void uniform_(Tensor& tensor, double low, double high, Generator* generator = nullptr);
REDES_API void normal_(Tensor& tensor, double mean, double std, Generator* generator = nullptr);
REDES_API void constant_(Tensor& tensor, double value);
REDES_API void zeros_(Tensor& tensor);
REDES_API void ones_(Tensor& tensor);
// He initialisation, uniform on +-gain * sqrt(3 / fan_in) with
// gain = sqrt(2 / (1 + a^2)); a = sqrt(5) gives PyTorch's default for Linear
// and Conv2d weights (bound 1/sqrt(fan_in)).
REDES_API void kaiming_uniform_(Tensor& tensor, double a = 2.23606797749979, Generator* generator = nullptr);
REDES_API void kaiming_normal_(Tensor& tensor, double a = 0.0, Generator* generator = nullptr);
// Glorot: uniform on +-gain * sqrt(6 / (fan_in + fan_out)).
REDES_API void xavier_uniform_(Tensor& tensor, double gain = 1.0, Generator* generator = nullptr);

}  // namespace redes::nn::init

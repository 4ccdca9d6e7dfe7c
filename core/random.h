// Random tensors from the counter-based Philox generator (contract in
// kernels/philox.h): a draw is a pure function of (seed, offset, index), so
// the same seed gives the same numbers on every device and thread count.
#pragma once

#include <cstdint>
#include <mutex>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

class REDES_API Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}
  std::uint64_t seed() const;
  std::uint64_t offset() const;  // next unused Philox block
  void set_state(std::uint64_t seed, std::uint64_t offset);
  // Reserves `blocks` Philox blocks; returns the first one.
  std::uint64_t reserve(std::uint64_t blocks);

 private:
  mutable std::mutex mutex_;
  std::uint64_t seed_ = 0;
  std::uint64_t offset_ = 0;
};

// The process-wide generator used when none is passed.
REDES_API Generator& default_generator();
REDES_API void manual_seed(std::uint64_t seed);

// Uniform on [low, high).
REDES_API Tensor uniform(const Shape& shape, double low, double high, const TensorOptions& options = {},
                         Generator* generator = nullptr);
REDES_API Tensor rand(const Shape& shape, const TensorOptions& options = {}, Generator* generator = nullptr);
REDES_API Tensor randn(const Shape& shape, const TensorOptions& options = {}, Generator* generator = nullptr);
REDES_API Tensor normal(const Shape& shape, double mean, double std, const TensorOptions& options = {},
                        Generator* generator = nullptr);
// 1 with probability p, else 0 (in options.dtype).
REDES_API Tensor bernoulli(const Shape& shape, double p, const TensorOptions& options = {},
                           Generator* generator = nullptr);
// Inverted dropout: in training, zeroes each element with probability p
// (Philox mask, reproducible from the generator's state) and scales the rest
// by 1/(1-p); outside training, or with p = 0, returns x unchanged.
REDES_API Tensor dropout(const Tensor& x, double p, bool training = true, Generator* generator = nullptr);

// A random permutation of 0..n-1 (int64, the only dtype it takes, on
// options.device), the same on every device for one generator state.
REDES_API Tensor randperm(std::int64_t n, const TensorOptions& options = {}, Generator* generator = nullptr);

// Raw 32-bit Philox outputs in an int64 tensor.
REDES_API Tensor random_bits(const Shape& shape, const Device& device = Device::cpu(),
                             Generator* generator = nullptr);

}  // namespace redes

#include "core/random.h"

#include "core/cuda_graph.h"

#include "core/ops/dispatch.h"
#include "kernels/params.h"
#include "kernels/philox.h"

namespace redes {

std::uint64_t Generator::seed() const {
  std::lock_guard lock(mutex_);
  return seed_;
}

std::uint64_t Generator::offset() const {
  std::lock_guard lock(mutex_);
  return offset_;
}

void Generator::set_state(std::uint64_t seed, std::uint64_t offset) {
  std::lock_guard lock(mutex_);
  seed_ = seed;
  offset_ = offset;
}

std::uint64_t Generator::reserve(std::uint64_t blocks) {
  // A draw's place in the stream is a kernel argument: a graph would replay
  // the same numbers every time.
  REDES_CHECK(!cuda::capture_in_progress(), "random numbers cannot be drawn inside a CUDA graph capture: every "
              "replay would repeat the same draw (dropout, rand, randn, bernoulli, randperm, augmentation)");
  std::lock_guard lock(mutex_);
  const std::uint64_t first = offset_;
  offset_ += blocks;
  return first;
}

Generator& default_generator() {
  static Generator* generator = new Generator(0);
  return *generator;
}

void manual_seed(std::uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {

Tensor draw(const Shape& shape, const TensorOptions& options, Generator* generator, Distribution distribution,
            double a, double b, const char* op) {
  TensorOptions plain = options;
  plain.requires_grad = false;
  Tensor out = empty(shape, plain);
  Generator& source = generator != nullptr ? *generator : default_generator();
  const auto count = static_cast<std::uint64_t>(out.numel());
  RandomParams params{distribution, a, b, 0, 0};
  params.offset = source.reserve(philox::blocks_used(count, distribution == Distribution::Normal));
  params.seed = source.seed();
  detail::launch(params, out.device(), out.dtype(), {detail::kernel_arg(out, op)});
  if (options.requires_grad) out.requires_grad_(true);
  return out;
}

}  // namespace

Tensor uniform(const Shape& shape, double low, double high, const TensorOptions& options, Generator* generator) {
  REDES_CHECK(low <= high, "uniform: expected low <= high, got [", low, ", ", high, ")");
  return draw(shape, options, generator, Distribution::Uniform, low, high, "uniform");
}

Tensor rand(const Shape& shape, const TensorOptions& options, Generator* generator) {
  return uniform(shape, 0.0, 1.0, options, generator);
}

Tensor normal(const Shape& shape, double mean, double std, const TensorOptions& options, Generator* generator) {
  REDES_CHECK(std >= 0.0, "normal: expected std >= 0, got ", std);
  return draw(shape, options, generator, Distribution::Normal, mean, std, "normal");
}

Tensor randn(const Shape& shape, const TensorOptions& options, Generator* generator) {
  return normal(shape, 0.0, 1.0, options, generator);
}

Tensor bernoulli(const Shape& shape, double p, const TensorOptions& options, Generator* generator) {
  REDES_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: expected p in [0, 1], got ", p);
  return draw(shape, options, generator, Distribution::Bernoulli, p, 0.0, "bernoulli");
}

Tensor random_bits(const Shape& shape, const Device& device, Generator* generator) {
  return draw(shape, {kInt64, device}, generator, Distribution::Bits, 0.0, 0.0, "random_bits");
}

}  // namespace redes

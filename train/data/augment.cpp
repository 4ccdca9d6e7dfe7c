// The augmentations' front-end: per-sample parameters are drawn (or given)
// on the host, a few numbers per sample, and travel to the batch's device as
// an (N, 2) tensor; one kernel (AugmentParams, kernels/{cpu,cuda}/augment)
// then computes every output pixel where the batch lives, with the
// per-element functions of kernels/augment_math.h.
#include "train/data/augment.h"

#include <cmath>

#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/augment_math.h"
#include "kernels/params.h"

namespace redes::data {
namespace {

namespace math = augment_math;

// Larger shifts only produce empty images; this also keeps 2 * max + 1 exact.
constexpr std::int64_t kMaxShift = std::int64_t{1} << 20;

// Runs augmentation `params` on a valid batch with the (N, 2) per-sample
// values `per_sample` (int64 or float64, on the host); the result is a new
// contiguous tensor on the images' device, detached from any graph.
Tensor apply(const Tensor& images, const AugmentParams& params, const Tensor& per_sample, const char* op) {
  REDES_CHECK(images.defined() && images.dim() == 4, op, ": expected images of dims (N, C, H, W), got ",
              images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  REDES_CHECK(images.dtype() == kFloat32 || images.dtype() == kFloat64, op,
              ": expected float32 or float64 images, got ", dtype_name(images.dtype()));
  REDES_CHECK(per_sample.size(0) == images.size(0), op, ": ", per_sample.size(0), " per-sample parameters for a batch of ",
              images.size(0));
  NoGradGuard no_grad;
  const Tensor in = images.detach().contiguous();
  const Tensor parameters = per_sample.to(images.device());
  Tensor out = empty(in.shape(), {in.dtype(), in.device()});
  if (out.numel() > 0) {
    detail::launch(params, in.device(), in.dtype(),
                   {detail::kernel_arg(out, op), detail::kernel_arg(in, op), detail::kernel_arg(parameters, op)});
  }
  return out;
}

// (N, 2) int64 per-sample parameters from N pairs.
Tensor int_pairs(const std::vector<std::int64_t>& values) {
  return from_vector(values, {static_cast<std::int64_t>(values.size() / 2), 2}, {kInt64});
}

std::vector<std::uint64_t> sample_keys(const SampleKeys& keys, const char* op) {
  std::vector<std::uint64_t> result;
  for (const std::int64_t index : keys.indices) {
    REDES_CHECK(index >= 0, op, ": sample index ", index, " is negative");
    result.push_back(math::sample_key(keys.seed, keys.epoch, static_cast<std::uint64_t>(index)));
  }
  return result;
}

}  // namespace

Tensor flip_horizontal(const Tensor& images, const std::vector<bool>& flip) {
  std::vector<std::int64_t> values;
  for (const bool mirrored : flip) values.insert(values.end(), {mirrored ? 1 : 0, 0});
  return apply(images, {AugmentKind::Flip, 0.0}, int_pairs(values), "flip_horizontal");
}

Tensor shift(const Tensor& images, const std::vector<PixelShift>& shifts) {
  std::vector<std::int64_t> values;
  for (const PixelShift& s : shifts) {
    REDES_CHECK(std::abs(s.dx) <= kMaxShift && std::abs(s.dy) <= kMaxShift, "shift: shifts are limited to ", kMaxShift,
                " pixels, got (", s.dx, ", ", s.dy, ")");
    values.insert(values.end(), {s.dx, s.dy});
  }
  return apply(images, {AugmentKind::Shift, 0.0}, int_pairs(values), "shift");
}

Tensor rotate(const Tensor& images, const std::vector<double>& degrees) {
  std::vector<double> values;
  for (const double angle : degrees) {
    REDES_CHECK(std::isfinite(angle), "rotate: angle ", angle, " is not finite");
    double sine = 0, cosine = 1;
    math::sin_cos_degrees(angle, sine, cosine);
    values.insert(values.end(), {sine, cosine});
  }
  const Tensor per_sample = from_vector(values, {static_cast<std::int64_t>(degrees.size()), 2}, {kFloat64});
  return apply(images, {AugmentKind::Rotate, 0.0}, per_sample, "rotate");
}

Tensor random_horizontal_flip(const Tensor& images, double p, const SampleKeys& keys) {
  REDES_CHECK(p >= 0 && p <= 1, "random_horizontal_flip: p must be in [0, 1], got ", p);
  std::vector<bool> flip;
  for (const std::uint64_t key : sample_keys(keys, "random_horizontal_flip")) {
    flip.push_back(math::draw_flip(key, static_cast<float>(p)));
  }
  return flip_horizontal(images, flip);
}

Tensor random_shift(const Tensor& images, std::int64_t max_shift, const SampleKeys& keys) {
  REDES_CHECK(max_shift >= 0 && max_shift <= kMaxShift, "random_shift: max_shift must be in [0, ", kMaxShift, "], got ",
              max_shift);
  std::vector<PixelShift> shifts;
  for (const std::uint64_t key : sample_keys(keys, "random_shift")) {
    shifts.push_back({math::draw_shift(key, 0, max_shift), math::draw_shift(key, 1, max_shift)});
  }
  return shift(images, shifts);
}

Tensor random_rotation(const Tensor& images, double max_degrees, const SampleKeys& keys) {
  REDES_CHECK(std::isfinite(max_degrees) && max_degrees >= 0,
              "random_rotation: max_degrees must be finite and non-negative, got ", max_degrees);
  std::vector<double> degrees;
  for (const std::uint64_t key : sample_keys(keys, "random_rotation")) {
    degrees.push_back(math::draw_degrees(key, max_degrees));
  }
  return rotate(images, degrees);
}

Tensor gaussian_noise(const Tensor& images, double std, const SampleKeys& keys) {
  REDES_CHECK(std::isfinite(std) && std >= 0, "gaussian_noise: std must be finite and non-negative, got ", std);
  std::vector<std::int64_t> values;
  for (const std::uint64_t key : sample_keys(keys, "gaussian_noise")) {
    values.insert(values.end(), {static_cast<std::int64_t>(key), 0});  // the key's bits, read back as uint64
  }
  return apply(images, {AugmentKind::Noise, std}, int_pairs(values), "gaussian_noise");
}

Tensor augment(const Tensor& images, const AugmentOptions& options, const SampleKeys& keys) {
  Tensor out = images;
  if (options.flip_p != 0) out = random_horizontal_flip(out, options.flip_p, keys);
  if (options.max_shift != 0) out = random_shift(out, options.max_shift, keys);
  if (options.max_degrees != 0) out = random_rotation(out, options.max_degrees, keys);
  if (options.noise_std != 0) out = gaussian_noise(out, options.noise_std, keys);
  return out;
}

Tensor normalize(const Tensor& images, double mean, double std) {
  REDES_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0,
              "normalize: expected a finite mean and std > 0, got ", mean, " and ", std);
  return (images - mean) / std;
}

}  // namespace redes::data

// The CPU path of the augmentations: per-sample parameters are drawn on the
// host, then plain loops apply augment_math's per-element functions to a
// contiguous CPU copy. A batch on a GPU is copied to the host and back for
// now; a CUDA kernel calling the same REDES_HD functions is a later step.
#include "train/data/augment.h"

#include <cmath>
#include <type_traits>

#include "core/ops.h"
#include "train/data/augment_math.h"

namespace redes::data {
namespace {

namespace math = augment_math;

// Larger shifts only produce empty images; this also keeps 2 * max + 1 exact.
constexpr std::int64_t kMaxShift = std::int64_t{1} << 20;

struct Planes {
  std::int64_t samples, channels, height, width;
};

// A detached, contiguous CPU copy of a valid batch of `parameters` samples.
Tensor host_copy(const Tensor& images, std::size_t parameters, const char* op) {
  REDES_CHECK(images.defined() && images.dim() == 4, op, ": expected images of dims (N, C, H, W), got ",
              images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  REDES_CHECK(images.dtype() == kFloat32 || images.dtype() == kFloat64, op,
              ": expected float32 or float64 images, got ", dtype_name(images.dtype()));
  REDES_CHECK(static_cast<std::int64_t>(parameters) == images.size(0), op, ": ", parameters,
              " per-sample parameters for a batch of ", images.size(0));
  NoGradGuard no_grad;
  return images.detach().to(Device::cpu()).contiguous();
}

// Runs fn<Real>(in, out, planes) on a host copy and returns the result on
// the images' device.
template <class Fn>
Tensor apply(const Tensor& images, std::size_t parameters, const char* op, Fn fn) {
  const Tensor host = host_copy(images, parameters, op);
  Tensor out = empty(host.shape(), {host.dtype(), Device::cpu()});
  const Planes planes{host.size(0), host.size(1), host.size(2), host.size(3)};
  if (host.dtype() == kFloat32) {
    fn(host.data<float>(), out.data<float>(), planes);
  } else {
    fn(host.data<double>(), out.data<double>(), planes);
  }
  NoGradGuard no_grad;
  return out.to(images.device());
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
  return apply(images, flip.size(), "flip_horizontal", [&](const auto* in, auto* out, const Planes& p) {
    for (std::int64_t n = 0; n < p.samples; ++n) {
      const bool mirrored = flip[static_cast<std::size_t>(n)];
      for (std::int64_t plane = n * p.channels; plane < (n + 1) * p.channels; ++plane) {
        for (std::int64_t y = 0; y < p.height; ++y) {
          const std::int64_t row = (plane * p.height + y) * p.width;
          for (std::int64_t x = 0; x < p.width; ++x) {
            out[row + x] = in[row + (mirrored ? math::flip_source_x(x, p.width) : x)];
          }
        }
      }
    }
  });
}

Tensor shift(const Tensor& images, const std::vector<PixelShift>& shifts) {
  for (const PixelShift& s : shifts) {
    REDES_CHECK(std::abs(s.dx) <= kMaxShift && std::abs(s.dy) <= kMaxShift, "shift: shifts are limited to ", kMaxShift,
                " pixels, got (", s.dx, ", ", s.dy, ")");
  }
  return apply(images, shifts.size(), "shift", [&](const auto* in, auto* out, const Planes& p) {
    for (std::int64_t n = 0; n < p.samples; ++n) {
      const PixelShift& s = shifts[static_cast<std::size_t>(n)];
      for (std::int64_t plane = n * p.channels; plane < (n + 1) * p.channels; ++plane) {
        const auto* source = in + plane * p.height * p.width;
        auto* target = out + plane * p.height * p.width;
        for (std::int64_t y = 0; y < p.height; ++y) {
          const std::int64_t sy = math::shift_source(y, s.dy);
          for (std::int64_t x = 0; x < p.width; ++x) {
            const std::int64_t sx = math::shift_source(x, s.dx);
            const bool hit = math::inside(sx, p.width) && math::inside(sy, p.height);
            target[y * p.width + x] = hit ? source[sy * p.width + sx] : 0;
          }
        }
      }
    }
  });
}

Tensor rotate(const Tensor& images, const std::vector<double>& degrees) {
  for (const double angle : degrees) REDES_CHECK(std::isfinite(angle), "rotate: angle ", angle, " is not finite");
  return apply(images, degrees.size(), "rotate", [&](const auto* in, auto* out, const Planes& p) {
    using Real = std::remove_cvref_t<decltype(*in)>;
    for (std::int64_t n = 0; n < p.samples; ++n) {
      const auto rotation = math::make_rotation<Real>(degrees[static_cast<std::size_t>(n)], p.height, p.width);
      for (std::int64_t plane = n * p.channels; plane < (n + 1) * p.channels; ++plane) {
        const Real* source = in + plane * p.height * p.width;
        Real* target = out + plane * p.height * p.width;
        for (std::int64_t y = 0; y < p.height; ++y) {
          for (std::int64_t x = 0; x < p.width; ++x) {
            Real sx = 0, sy = 0;
            math::rotation_source(rotation, x, y, sx, sy);
            target[y * p.width + x] = math::bilinear_zero_fill(source, p.height, p.width, sx, sy);
          }
        }
      }
    }
  });
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
  const std::vector<std::uint64_t> sample = sample_keys(keys, "gaussian_noise");
  return apply(images, sample.size(), "gaussian_noise", [&](const auto* in, auto* out, const Planes& p) {
    using Real = std::remove_cvref_t<decltype(*in)>;
    const std::int64_t per_sample = p.channels * p.height * p.width;
    const auto scale = static_cast<Real>(std);
    for (std::int64_t n = 0; n < p.samples; ++n) {
      const std::uint64_t key = sample[static_cast<std::size_t>(n)];
      for (std::int64_t j = 0; j < per_sample; ++j) {
        const std::int64_t i = n * per_sample + j;
        out[i] = in[i] + scale * math::draw_noise<Real>(key, static_cast<std::uint64_t>(j));
      }
    }
  });
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

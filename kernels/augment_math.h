// Per-element logic of the augmentations (train/data/augment.h): the Philox
// keying of each sample's draws, the index maps of flip and shift, and the
// rotation's coordinate transform with bilinear sampling. REDES_HD, so the CPU
// kernel (kernels/cpu/augment.cpp) and the CUDA kernel (kernels/cuda/
// augment.cu) run the same functions; `output_element` is the whole per-pixel
// body of both. Not installed.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/params.h"
#include "kernels/philox.h"

namespace redes::data::augment_math {

// The Philox key of sample `index` in `epoch` under `seed`: the first two
// words of Philox4x32-10(counter {lo(index), hi(index), lo(epoch), hi(epoch)},
// key seed). Distinct (epoch, index) pairs are distinct counters, so every
// sample of every epoch draws from its own stream, whatever batch it is in.
REDES_HD std::uint64_t sample_key(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  const philox::Block out =
      philox::philox4x32_10(philox::Block{{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                                           static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(epoch >> 32)}},
                            static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  return static_cast<std::uint64_t>(out.v[1]) << 32 | out.v[0];
}

// Each augmentation draws from its own Philox blocks of the sample's stream,
// so applying one never changes the draws of another.
inline constexpr std::uint64_t kFlipBlock = 0;
inline constexpr std::uint64_t kShiftBlock = 1;  // lane 0: x, lane 1: y
inline constexpr std::uint64_t kRotationBlock = 2;
inline constexpr std::uint64_t kNoiseBlock = 3;  // element j of the sample's (C, H, W) image from here on

REDES_HD bool draw_flip(std::uint64_t key, float p) { return philox::bernoulli(key, kFlipBlock, 0, p); }

// Uniform integer in [-max_shift, max_shift]; `axis` 0 is x, 1 is y.
REDES_HD std::int64_t draw_shift(std::uint64_t key, int axis, std::int64_t max_shift) {
  const auto u = static_cast<double>(philox::uniform(key, kShiftBlock, static_cast<std::uint64_t>(axis)));
  const auto span = static_cast<double>(2 * max_shift + 1);
  const auto step = static_cast<std::int64_t>(u * span);  // u < 1, so step <= 2 * max_shift
  return step - max_shift;
}

// Uniform angle in [-max_degrees, max_degrees).
REDES_HD double draw_degrees(std::uint64_t key, double max_degrees) {
  return (2.0 * static_cast<double>(philox::uniform(key, kRotationBlock, 0)) - 1.0) * max_degrees;
}

template <class Real>
REDES_HD Real draw_noise(std::uint64_t key, std::uint64_t element) {
  return philox::normal<Real>(key, kNoiseBlock, element);
}

// Horizontal flip: output column x reads input column width - 1 - x.
REDES_HD std::int64_t flip_source_x(std::int64_t x, std::int64_t width) { return width - 1 - x; }

// Shift by `shift` pixels (content moves towards +x / +y): output coordinate
// c reads input coordinate c - shift, zero when that falls outside.
REDES_HD std::int64_t shift_source(std::int64_t c, std::int64_t shift) { return c - shift; }

REDES_HD bool inside(std::int64_t c, std::int64_t size) { return c >= 0 && c < size; }

// sin and cos of an angle in degrees, exact (0, 1 or -1) at multiples of 90
// degrees, so a quarter turn of a square image is an exact permutation.
REDES_HD void sin_cos_degrees(double degrees, double& sin_out, double& cos_out) {
  const double quarter_turns = std::nearbyint(degrees / 90.0);
  const double rest = (degrees - 90.0 * quarter_turns) * (3.14159265358979323846 / 180.0);
  const double s = std::sin(rest), c = std::cos(rest);
  // quarter_turns mod 4 in 0..3, also for negative angles.
  const auto quadrant = static_cast<int>(std::fmod(std::fmod(quarter_turns, 4.0) + 4.0, 4.0));
  switch (quadrant) {
    case 0:
      sin_out = s;
      cos_out = c;
      break;
    case 1:
      sin_out = c;
      cos_out = -s;
      break;
    case 2:
      sin_out = -s;
      cos_out = -c;
      break;
    default:
      sin_out = -c;
      cos_out = s;
      break;
  }
}

// A rotation about the image centre ((W - 1) / 2, (H - 1) / 2). Positive
// angles turn the picture counter-clockwise as displayed (row 0 at the top).
template <class Real>
struct Rotation {
  Real sine, cosine, centre_x, centre_y;
};

// From the angle's sine and cosine (computed once per sample on the host, so
// both devices rotate by the same Real coefficients).
template <class Real>
REDES_HD Rotation<Real> rotation_from(double sine, double cosine, std::int64_t height, std::int64_t width) {
  return {static_cast<Real>(sine), static_cast<Real>(cosine), static_cast<Real>(width - 1) / 2,
          static_cast<Real>(height - 1) / 2};
}

// Where output pixel (x, y) reads the input: the inverse rotation of (x, y).
template <class Real>
REDES_HD void rotation_source(const Rotation<Real>& r, std::int64_t x, std::int64_t y, Real& source_x, Real& source_y) {
  const Real u = static_cast<Real>(x) - r.centre_x, v = static_cast<Real>(y) - r.centre_y;
  source_x = r.centre_x + r.cosine * u - r.sine * v;
  source_y = r.centre_y + r.sine * u + r.cosine * v;
}

// Bilinear sample of an (H, W) plane at (x, y), with zeros outside the plane.
// Neighbours of weight 0 are skipped, so an integer position returns the
// pixel exactly (even when a neighbour holds inf or NaN).
template <class Real>
REDES_HD Real bilinear_zero_fill(const Real* plane, std::int64_t height, std::int64_t width, Real x, Real y) {
  using std::floor;
  const Real x_floor = floor(x), y_floor = floor(y);
  const auto x0 = static_cast<std::int64_t>(x_floor), y0 = static_cast<std::int64_t>(y_floor);
  const Real fx = x - x_floor, fy = y - y_floor;
  const Real weights[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
  Real value = 0;
  for (int k = 0; k < 4; ++k) {
    const std::int64_t xi = x0 + (k & 1), yi = y0 + (k >> 1);
    if (weights[k] != 0 && inside(xi, width) && inside(yi, height)) value += weights[k] * plane[yi * width + xi];
  }
  return value;
}

struct ImageGeometry {
  std::int64_t channels, height, width;
};

// Output element i (row-major over (N, C, H, W)) of augmentation `p` of a
// contiguous batch `in`; `ints` / `reals` are the (N, 2) per-sample
// parameters of AugmentParams (only the one its kind uses is read).
template <class Real>
REDES_HD Real output_element(const AugmentParams& p, const Real* in, const std::int64_t* ints, const double* reals,
                             const ImageGeometry& g, std::int64_t i) {
  const std::int64_t plane_size = g.height * g.width;
  const std::int64_t sample_size = g.channels * plane_size;
  const std::int64_t n = i / sample_size;
  const std::int64_t x = i % g.width, y = (i / g.width) % g.height;
  const Real* plane = in + (i / plane_size) * plane_size;
  switch (p.kind) {
    case AugmentKind::Flip:
      return plane[y * g.width + (ints[2 * n] != 0 ? flip_source_x(x, g.width) : x)];
    case AugmentKind::Shift: {
      const std::int64_t sx = shift_source(x, ints[2 * n]), sy = shift_source(y, ints[2 * n + 1]);
      return inside(sx, g.width) && inside(sy, g.height) ? plane[sy * g.width + sx] : Real(0);
    }
    case AugmentKind::Rotate: {
      const Rotation<Real> r = rotation_from<Real>(reals[2 * n], reals[2 * n + 1], g.height, g.width);
      Real sx = 0, sy = 0;
      rotation_source(r, x, y, sx, sy);
      return bilinear_zero_fill(plane, g.height, g.width, sx, sy);
    }
    case AugmentKind::Noise: {
      const auto key = static_cast<std::uint64_t>(ints[2 * n]);
      return in[i] + static_cast<Real>(p.noise_std) * draw_noise<Real>(key, static_cast<std::uint64_t>(i % sample_size));
    }
  }
  return Real(0);
}

}  // namespace redes::data::augment_math

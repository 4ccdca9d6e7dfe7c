// Augmentations of image batches (N, C, H, W), float32 or float64, on any
// device: the W2 recipe of random horizontal flip, random integer shift,
// random rotation and Gaussian noise. They return new tensors and record no
// gradient (they prepare data).
//
// Randomness is keyed by (seed, epoch, dataset index of the sample) through
// Philox (augment_math::sample_key), so a sample gets the same augmentation
// whatever batch it lands in and however the loader's thread is scheduled:
//
//   Tensor x = augment(batch[0], {}, {seed, batch.epoch, batch.indices});
#pragma once

#include <cstdint>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::data {

// Which random draws a batch uses: sample k is dataset index indices[k] of
// epoch `epoch` (indices.size() must equal the batch size).
struct SampleKeys {
  std::uint64_t seed = 0;
  std::uint64_t epoch = 0;
  std::vector<std::int64_t> indices;
};

struct PixelShift {
  std::int64_t dx = 0;  // content moves right by dx (left when negative)
  std::int64_t dy = 0;  // content moves down by dy
};

// Deterministic forms, one parameter per sample.
// Mirrors the samples whose flag is set left-right.
REDES_API Tensor flip_horizontal(const Tensor& images, const std::vector<bool>& flip);
// Moves each sample's content by whole pixels, filling with zeros.
REDES_API Tensor shift(const Tensor& images, const std::vector<PixelShift>& shifts);
// Turns each sample counter-clockwise (as displayed, row 0 at the top) about
// the image centre, bilinear with zero fill. Multiples of 90 degrees are exact.
REDES_API Tensor rotate(const Tensor& images, const std::vector<double>& degrees);

// Random forms, drawing each sample's parameter from its key.
// Flips each sample with probability p.
REDES_API Tensor random_horizontal_flip(const Tensor& images, double p, const SampleKeys& keys);
// Shifts by integers uniform in [-max_shift, max_shift] in x and in y.
REDES_API Tensor random_shift(const Tensor& images, std::int64_t max_shift, const SampleKeys& keys);
// Rotates by an angle uniform in [-max_degrees, max_degrees).
REDES_API Tensor random_rotation(const Tensor& images, double max_degrees, const SampleKeys& keys);
// Adds independent normal noise of standard deviation `std` to every element.
REDES_API Tensor gaussian_noise(const Tensor& images, double std, const SampleKeys& keys);

// The W2 recipe; a step whose parameter is 0 is skipped (it would be the identity).
struct AugmentOptions {
  double flip_p = 0.5;
  std::int64_t max_shift = 2;
  double max_degrees = 10;
  double noise_std = 0.05;
};
// Flip, then shift, then rotation, then noise, on the [0, 1] images.
REDES_API Tensor augment(const Tensor& images, const AugmentOptions& options, const SampleKeys& keys);

// (images - mean) / std, e.g. after augmenting Fashion-MNIST loaded with
// ImageOptions::normalize off.
REDES_API Tensor normalize(const Tensor& images, double mean, double std);

}  // namespace redes::data

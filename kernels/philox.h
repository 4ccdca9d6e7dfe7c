// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), the one generator behind every random draw in redes.
//
// The contract, identical on every device:
//   - Element i of a draw at (seed, offset) uses the 64-bit block counter
//     c = offset + floor(i / 4): Philox counter words {lo32(c), hi32(c), 0, 0},
//     key {lo32(seed), hi32(seed)}; it takes output lane i mod 4.
//   - uniform float u in [0, 1): (bits >> 8) * 2^-24 (exactly representable).
//   - Bernoulli(p): 1 when uniform(i) < p.
//   - normal: Box-Muller on the pair of uniform draws (2*floor(i/2),
//     2*floor(i/2)+1): u1 = ((bits_a >> 8) + 1) * 2^-24 in (0, 1], u2 = uniform(b),
//     r = sqrt(-2 ln u1); even i gets r cos(2 pi u2), odd i gets r sin(2 pi u2).
//     A draw of n normals consumes the uniform stream of 2*ceil(n/2) elements.
//   - A draw of n elements advances the offset by ceil(n_stream / 4) blocks.
// uint32, uniform and Bernoulli draws are bit-identical across devices;
// normal draws depend on the device's log/sqrt/cos (within a few ulp).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace redes::philox {

struct Block {
  std::uint32_t v[4];
};

REDES_HD void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

// The raw bijection: 10 rounds over a 4-word counter with a 2-word key.
REDES_HD Block philox4x32_10(Block counter, std::uint32_t key0, std::uint32_t key1) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    std::uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, counter.v[0], hi0, lo0);
    mulhilo(kMul1, counter.v[2], hi1, lo1);
    counter = Block{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
  }
  return counter;
}

// The 4 words of block `block` of the stream keyed by `seed`.
REDES_HD Block stream_block(std::uint64_t seed, std::uint64_t block) {
  return philox4x32_10(Block{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}},
                       static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

REDES_HD std::uint32_t bits(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  return stream_block(seed, offset + i / 4).v[i % 4];
}

REDES_HD float bits_to_uniform(std::uint32_t value) {
  return static_cast<float>(value >> 8) * (1.0f / 16777216.0f);
}

REDES_HD float uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  return bits_to_uniform(bits(seed, offset, i));
}

REDES_HD bool bernoulli(std::uint64_t seed, std::uint64_t offset, std::uint64_t i, float p) {
  return uniform(seed, offset, i) < p;
}

// Box-Muller in the precision of Real (float for float32 tensors, double for float64).
template <class Real>
REDES_HD Real normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  using std::cos;
  using std::log;
  using std::sin;
  using std::sqrt;
  const std::uint64_t first = i & ~std::uint64_t{1};
  const std::uint32_t bits_a = bits(seed, offset, first);
  const std::uint32_t bits_b = bits(seed, offset, first + 1);
  const Real u1 = static_cast<Real>((bits_a >> 8) + 1u) * static_cast<Real>(1.0 / 16777216.0);
  const Real u2 = static_cast<Real>(bits_b >> 8) * static_cast<Real>(1.0 / 16777216.0);
  const Real radius = sqrt(static_cast<Real>(-2) * log(u1));
  const Real angle = static_cast<Real>(6.283185307179586476925286766559) * u2;
  return (i & 1u) ? radius * sin(angle) : radius * cos(angle);
}

// Blocks a draw of n elements of `distribution` consumes (the offset advance).
REDES_HD std::uint64_t blocks_used(std::uint64_t n, bool is_normal) {
  const std::uint64_t stream = is_normal ? (n + 1) / 2 * 2 : n;
  return (stream + 3) / 4;
}

}  // namespace redes::philox

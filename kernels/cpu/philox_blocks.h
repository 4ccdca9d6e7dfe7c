// Many Philox4x32-10 blocks at once on the CPU: one SIMD lane per block, where
// philox::stream_block computes one block at a time. The bits are those of
// kernels/philox.h's contract, word for word.
#pragma once

#include <cstdint>

#include "kernels/cpu/vector_math.h"
#include "kernels/philox.h"

namespace redes::cpu {

// Blocks one call of philox_blocks fills: 1 KiB of bits on the stack, enough
// for the vectoriser's widest lanes many times over.
inline constexpr int kPhiloxBatch = 64;

// bits[4 * j + lane] = word `lane` of block first + j of the stream keyed by
// `seed`, for j < count (count <= kPhiloxBatch). Inlined into the caller's
// clone (REDES_VECTOR_CLONES), so that it runs in the caller's SIMD width.
REDES_INLINE_IN_CLONES void philox_blocks(std::uint64_t seed, std::uint64_t first, int count, std::uint32_t* bits) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  // The key schedule is the same for every block.
  std::uint32_t key0[10], key1[10];
  key0[0] = static_cast<std::uint32_t>(seed);
  key1[0] = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 1; round < 10; ++round) {
    key0[round] = key0[round - 1] + kWeyl0;
    key1[round] = key1[round - 1] + kWeyl1;
  }
  for (int j = 0; j < count; ++j) {
    const std::uint64_t counter = first + static_cast<std::uint64_t>(j);
    std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
    std::uint32_t c2 = 0, c3 = 0;
#pragma GCC unroll 10
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0;
      const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2;
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ key0[round];
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ key1[round];
      c1 = static_cast<std::uint32_t>(p1);
      c3 = static_cast<std::uint32_t>(p0);
      c0 = n0;
      c2 = n2;
    }
    bits[4 * j] = c0;
    bits[4 * j + 1] = c1;
    bits[4 * j + 2] = c2;
    bits[4 * j + 3] = c3;
  }
}

}  // namespace redes::cpu

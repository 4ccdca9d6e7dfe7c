// Dense conversions between float32 and the 16-bit types, vectorised for the
// running CPU (the rounding of core/low_precision.h in SIMD lanes): the
// autocast copies and the float32 copies of kernels/cpu/widened.h are these.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/low_precision.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided_loop.h"

namespace redes::cpu {

void bfloat16_from_float(const float* in, BFloat16* out, std::int64_t n);
void float_from_bfloat16(const BFloat16* in, float* out, std::int64_t n);
void float16_from_float(const float* in, Float16* out, std::int64_t n);
void float_from_float16(const Float16* in, float* out, std::int64_t n);

// One thread's dense conversions of n elements between a 16-bit type and float32.
inline void widen_dense(const BFloat16* in, float* out, std::int64_t n) { float_from_bfloat16(in, out, n); }
inline void widen_dense(const Float16* in, float* out, std::int64_t n) { float_from_float16(in, out, n); }
inline void narrow_dense(const float* in, BFloat16* out, std::int64_t n) { bfloat16_from_float(in, out, n); }
inline void narrow_dense(const float* in, Float16* out, std::int64_t n) { float16_from_float(in, out, n); }

// Elements a 16-bit loop widens at a time into a float32 buffer on the stack.
inline constexpr std::int64_t kWidenBlock = 256;

// Calls body(first, size) for consecutive blocks of at most kWidenBlock
// elements covering [0, n), split over threads like an elementwise walk.
template <class Body>
void for_widen_blocks(std::int64_t n, Body&& body) {
  const std::int64_t blocks = (n + kWidenBlock - 1) / kWidenBlock;
  parallel_for(0, blocks, std::max<std::int64_t>(1, kElementwiseGrain / kWidenBlock),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t block = lo; block < hi; ++block) {
                   const std::int64_t first = block * kWidenBlock;
                   body(first, std::min(kWidenBlock, n - first));
                 }
               });
}

// Whether (To, From) is float32 with a 16-bit type, either way round.
template <class To, class From>
inline constexpr bool is_widening_pair_v = (std::is_same_v<To, float> && is_low_precision_v<From>) ||
                                           (is_low_precision_v<To> && std::is_same_v<From, float>);

// n dense elements from `in` to `out`, split over threads like any
// elementwise walk.
template <class To, class From>
void convert_dense(const From* in, To* out, std::int64_t n) {
  static_assert(is_widening_pair_v<To, From>);
  parallel_for(0, n, kElementwiseGrain, [&](std::int64_t lo, std::int64_t hi) {
    if constexpr (std::is_same_v<To, float>) {
      widen_dense(in + lo, out + lo, hi - lo);
    } else {
      narrow_dense(in + lo, out + lo, hi - lo);
    }
  });
}

}  // namespace redes::cpu

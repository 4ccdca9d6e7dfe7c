// float exp, tanh and sigmoid without branches or library calls, so that a
// loop calling them under `#pragma omp simd` becomes SIMD code (glibc's
// expf/tanhf are scalar calls, which stop the vectoriser). The kernels that
// use them compile their loops for AVX-512, AVX2 and the x86-64 baseline and
// pick one when the library loads (REDES_VECTOR_CLONES), so one binary serves
// any x86-64 machine.
//
// Accuracy (tests/kernels/vector_math_test.cpp sweeps every range): within
// 2 ulp of the correctly rounded result, except where the result is below
// FLT_MIN (exp underflows to 0 below -87.3, where glibc returns subnormals).
// NaN and the infinities give what std:: gives.
#pragma once

#include <bit>
#include <cstdint>

namespace redes::vecmath {

// exp(x) = 2^n exp(r) with n = round(x / ln 2) and r = x - n ln 2, ln 2 in
// two parts so that n ln 2 is exact (Cody and Waite); exp(r) on
// |r| <= ln 2 / 2 is Cephes' expf polynomial.
inline float exp(float x) {
  constexpr float kMax = 88.72283f;   // exp(kMax) is just below FLT_MAX
  constexpr float kMin = -87.33654f;  // exp(kMin) is FLT_MIN
  const bool nan = x != x;
  float clamped = x < kMin ? kMin : x;
  clamped = clamped > kMax ? kMax : clamped;
  clamped = nan ? 0.0f : clamped;
  // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
  constexpr float kRound = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  const float p =
      (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
        1.6666665459e-1f) *
           r +
       5.0000001201e-1f) *
          r2 +
      r + 1.0f;
  // 2^n from its biased exponent; n reaches 128 near kMax, one past the
  // largest exponent a float holds, and then multiplies in two halves.
  const auto n_int = static_cast<std::int32_t>(n);
  const bool top = n_int > 127;
  const auto biased = static_cast<std::uint32_t>(n_int + 127 - (top ? 1 : 0));
  const float result = p * std::bit_cast<float>(biased << 23) * (top ? 2.0f : 1.0f);
  if (nan) return x;
  if (x > kMax) return __builtin_inff();
  return x < kMin ? 0.0f : result;
}

// tanh: Cephes' tanhf polynomial below |x| = 0.625, where 1 - 2 / (e^2x + 1)
// would lose the small result to cancellation; the exp form above it.
inline float tanh(float x) {
  const float a = x < 0.0f ? -x : x;
  const float s = x * x;
  const float small =
      ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s -
       3.33332819422e-1f) *
          s * x +
      x;
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  // x == 0 keeps the sign of a zero, which x + (-0 * ...) would lose.
  return a < 0.625f ? (x == 0.0f ? x : small) : (x < 0.0f ? -large : large);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

}  // namespace redes::vecmath

// Marks a function to be compiled for AVX-512, AVX2 + FMA and the x86-64
// baseline, the best of which the loader picks on the running CPU (GCC's
// target_clones; other compilers get the baseline alone).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define REDES_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define REDES_VECTOR_CLONES
#endif

// Marks a helper of a REDES_VECTOR_CLONES function: inlined into every
// clone, so that it is compiled for each clone's instruction set (a helper
// left out of line is compiled once, for the baseline).
#if defined(__GNUC__)
#define REDES_INLINE_IN_CLONES inline __attribute__((always_inline))
#else
#define REDES_INLINE_IN_CLONES inline
#endif

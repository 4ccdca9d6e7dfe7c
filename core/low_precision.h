// The 16-bit floating-point element types, bfloat16 and float16 (IEEE
// binary16), as plain 2-byte values usable in CPU code and in CUDA kernels.
//
// They store; they do not compute. Every operation converts to float32, works
// there, and rounds back, so a kernel templated on the element type T writes
// `T(op(float(a), float(b)))` (kernels use compute_type_t<T>). Conversion to
// float32 is exact; conversion from float32 and float64 rounds to nearest,
// ties to even, keeps infinities and the sign of zero, and turns every NaN into
// a quiet NaN of the same sign that keeps the top bits of its payload.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__CUDACC__)
#define REDES_LOW_PRECISION_HD __host__ __device__ __forceinline__
#else
#define REDES_LOW_PRECISION_HD inline
#endif

namespace redes {

namespace low_precision {

REDES_LOW_PRECISION_HD std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

REDES_LOW_PRECISION_HD float float_of(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Rounds `kept` (the value's bits shifted right by `shift`) to nearest even
// using the `shift` dropped bits of `bits`.
REDES_LOW_PRECISION_HD std::uint32_t round_shifted(std::uint32_t bits, int shift) {
  const std::uint32_t kept = bits >> shift;
  const std::uint32_t dropped = bits & ((std::uint32_t{1} << shift) - 1);
  const std::uint32_t half = std::uint32_t{1} << (shift - 1);
  return kept + ((dropped > half || (dropped == half && (kept & 1) != 0)) ? 1 : 0);
}

REDES_LOW_PRECISION_HD std::uint16_t bfloat16_from_float(float value) {
  const std::uint32_t bits = bits_of(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  // The carry of rounding runs into the exponent, and past the largest
  // finite value into infinity, as it should.
  return static_cast<std::uint16_t>(round_shifted(bits, 16));
}

REDES_LOW_PRECISION_HD float float_from_bfloat16(std::uint16_t bits) { return float_of(std::uint32_t{bits} << 16); }

REDES_LOW_PRECISION_HD std::uint16_t float16_from_float(float value) {
  const std::uint32_t bits = bits_of(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  std::uint32_t result;
  if (magnitude > 0x7f800000u) {
    result = 0x7e00u | ((magnitude >> 13) & 0x3ffu);  // quiet NaN, top payload bits kept
  } else if (magnitude >= 0x477ff000u) {
    result = 0x7c00u;  // 65520 and above round to infinity
  } else if (magnitude >= 0x38800000u) {
    // Normal in float16 (2^-14 and above): rebias the exponent by 127 - 15
    // and drop 13 mantissa bits; a carry may reach the next exponent.
    result = round_shifted(magnitude - 0x38000000u, 13);
  } else if (magnitude >= 0x33000000u) {
    // Subnormal in float16: the value is m * 2^-24 with m < 1024 after
    // rounding (1024 is the smallest normal, which the bits spell the same).
    const int exponent = static_cast<int>(magnitude >> 23);
    const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    result = round_shifted(mantissa, 126 - exponent);
  } else {
    result = 0;  // below 2^-25, or exactly 2^-25, which ties to the even 0
  }
  return static_cast<std::uint16_t>(sign | result);
}

REDES_LOW_PRECISION_HD float float_from_float16(std::uint16_t bits) {
  const std::uint32_t sign = std::uint32_t{bits & 0x8000u} << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1fu) return float_of(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Subnormal: mantissa * 2^-24, exact in float32.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// float64 to float32 rounding to odd: a float32 whose last bit records
// whether anything was dropped. Rounding that to 16 bits to nearest even then
// equals rounding the float64 directly (float32 keeps more than two extra
// bits), where a plain float64 -> float32 -> 16-bit path can round twice.
REDES_LOW_PRECISION_HD float round_to_odd_float(double value) {
  const float nearest = static_cast<float>(value);
  if (nearest - nearest != 0.0f || static_cast<double>(nearest) == value) return nearest;  // NaN, infinite or exact
  const std::uint32_t bits = bits_of(nearest);
  if ((bits & 1) != 0) return nearest;
  // The odd neighbour on the value's side; the bits order magnitudes.
  const bool rounded_away = std::fabs(static_cast<double>(nearest)) > std::fabs(value);
  return float_of(rounded_away ? bits - 1 : bits + 1);
}

}  // namespace low_precision

struct BFloat16 {
  std::uint16_t bits;

  BFloat16() = default;
  REDES_LOW_PRECISION_HD explicit BFloat16(float value) : bits(low_precision::bfloat16_from_float(value)) {}
  REDES_LOW_PRECISION_HD explicit BFloat16(double value)
      : bits(low_precision::bfloat16_from_float(low_precision::round_to_odd_float(value))) {}
  template <class N, std::enable_if_t<std::is_integral_v<N>, int> = 0>
  REDES_LOW_PRECISION_HD explicit BFloat16(N value) : BFloat16(static_cast<double>(value)) {}
  REDES_LOW_PRECISION_HD operator float() const { return low_precision::float_from_bfloat16(bits); }

  REDES_LOW_PRECISION_HD static BFloat16 from_bits(std::uint16_t bits) {
    BFloat16 value;
    value.bits = bits;
    return value;
  }
};

struct Float16 {
  std::uint16_t bits;

  Float16() = default;
  REDES_LOW_PRECISION_HD explicit Float16(float value) : bits(low_precision::float16_from_float(value)) {}
  REDES_LOW_PRECISION_HD explicit Float16(double value)
      : bits(low_precision::float16_from_float(low_precision::round_to_odd_float(value))) {}
  template <class N, std::enable_if_t<std::is_integral_v<N>, int> = 0>
  REDES_LOW_PRECISION_HD explicit Float16(N value) : Float16(static_cast<double>(value)) {}
  REDES_LOW_PRECISION_HD operator float() const { return low_precision::float_from_float16(bits); }

  REDES_LOW_PRECISION_HD static Float16 from_bits(std::uint16_t bits) {
    Float16 value;
    value.bits = bits;
    return value;
  }
};

static_assert(sizeof(BFloat16) == 2 && std::is_trivially_copyable_v<BFloat16>);
static_assert(sizeof(Float16) == 2 && std::is_trivially_copyable_v<Float16>);

template <class T>
inline constexpr bool is_low_precision_v = std::is_same_v<T, BFloat16> || std::is_same_v<T, Float16>;

// Floating-point element types: float, double and the 16-bit ones.
template <class T>
inline constexpr bool is_floating_element_v = std::is_floating_point_v<T> || is_low_precision_v<T>;

// The type arithmetic on T runs in: float32 for the 16-bit types, T itself
// otherwise.
template <class T>
using compute_type_t = std::conditional_t<is_low_precision_v<T>, float, T>;

}  // namespace redes

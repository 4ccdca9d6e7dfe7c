// The 16-bit element types on their own: decoding, rounding and round trips
// over all 65,536 bit patterns of each, against references written here from
// the formats' definitions.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "core/low_precision.h"

namespace redes {
namespace {

// The value a bit pattern spells, from the format's fields: 1 sign bit,
// `exponent_bits` exponent bits with bias 2^(exponent_bits-1) - 1, and the
// rest mantissa bits; exponent 0 is subnormal, all ones infinity or NaN.
double decode(std::uint16_t bits, int exponent_bits) {
  const int mantissa_bits = 15 - exponent_bits;
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const int exponent = (bits >> mantissa_bits) & ((1 << exponent_bits) - 1);
  const int mantissa = bits & ((1 << mantissa_bits) - 1);
  const double sign = (bits & 0x8000) != 0 ? -1.0 : 1.0;
  if (exponent == (1 << exponent_bits) - 1) {
    return mantissa == 0 ? sign * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  }
  if (exponent == 0) return sign * std::ldexp(mantissa, 1 - bias - mantissa_bits);
  return sign * std::ldexp(mantissa + (1 << mantissa_bits), exponent - bias - mantissa_bits);
}

template <class T>
struct Format;
template <>
struct Format<BFloat16> {
  static constexpr int exponent_bits = 8;
};
template <>
struct Format<Float16> {
  static constexpr int exponent_bits = 5;
};

template <class T>
class LowPrecisionTest : public ::testing::Test {};
using SixteenBitTypes = ::testing::Types<BFloat16, Float16>;
TYPED_TEST_SUITE(LowPrecisionTest, SixteenBitTypes);

bool is_nan_bits(std::uint16_t bits, int exponent_bits) {
  const int mantissa_bits = 15 - exponent_bits;
  const std::uint16_t exponent_mask = static_cast<std::uint16_t>(((1 << exponent_bits) - 1) << mantissa_bits);
  return (bits & exponent_mask) == exponent_mask && (bits & ((1 << mantissa_bits) - 1)) != 0;
}

TYPED_TEST(LowPrecisionTest, EveryPatternDecodesToItsValue) {
  using T = TypeParam;
  for (std::uint32_t pattern = 0; pattern <= 0xffff; ++pattern) {
    const auto bits = static_cast<std::uint16_t>(pattern);
    const double expected = decode(bits, Format<T>::exponent_bits);
    const float actual = static_cast<float>(T::from_bits(bits));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(actual)) << std::hex << pattern;
      ASSERT_EQ(std::signbit(actual), (bits & 0x8000) != 0) << std::hex << pattern;
    } else {
      ASSERT_EQ(static_cast<double>(actual), expected) << std::hex << pattern;
      ASSERT_EQ(std::signbit(actual), (bits & 0x8000) != 0) << std::hex << pattern;
    }
  }
}

TYPED_TEST(LowPrecisionTest, EveryPatternSurvivesARoundTrip) {
  using T = TypeParam;
  for (std::uint32_t pattern = 0; pattern <= 0xffff; ++pattern) {
    const auto bits = static_cast<std::uint16_t>(pattern);
    const float value = static_cast<float>(T::from_bits(bits));
    const std::uint16_t back = T(value).bits;
    const std::uint16_t back_from_double = T(static_cast<double>(value)).bits;
    if (is_nan_bits(bits, Format<T>::exponent_bits)) {
      // A NaN stays a NaN of the same sign (made quiet).
      ASSERT_TRUE(is_nan_bits(back, Format<T>::exponent_bits)) << std::hex << pattern;
      ASSERT_EQ(back & 0x8000, bits & 0x8000) << std::hex << pattern;
      ASSERT_EQ(back_from_double & 0x8000, bits & 0x8000) << std::hex << pattern;
    } else {
      ASSERT_EQ(back, bits) << std::hex << pattern;
      ASSERT_EQ(back_from_double, bits) << std::hex << pattern;
    }
  }
}

// Between each pair of neighbouring finite values: the exact midpoint goes
// to the one with the even last bit, anything nearer one side to that side.
TYPED_TEST(LowPrecisionTest, EveryMidpointRoundsToEven) {
  using T = TypeParam;
  for (std::uint32_t pattern = 0; pattern < 0x7fff; ++pattern) {
    const auto low_bits = static_cast<std::uint16_t>(pattern);
    const auto high_bits = static_cast<std::uint16_t>(pattern + 1);
    const double low = decode(low_bits, Format<T>::exponent_bits);
    const double high = decode(high_bits, Format<T>::exponent_bits);
    // Past the largest finite value lies infinity, not a value to meet halfway (see OverflowAndSpecialValues).
    if (std::isnan(low) || std::isnan(high) || std::isinf(high)) continue;
    // The midpoint needs at most 2 bits beyond the 16-bit mantissa: exact in float.
    const float midpoint = static_cast<float>((low + high) / 2);
    ASSERT_EQ(static_cast<double>(midpoint), (low + high) / 2);
    for (const double sign : {1.0, -1.0}) {
      const std::uint16_t sign_bit = sign < 0 ? 0x8000 : 0;
      const std::uint16_t even = (low_bits & 1) == 0 ? low_bits : high_bits;
      const float signed_midpoint = static_cast<float>(sign) * midpoint;
      ASSERT_EQ(T(signed_midpoint).bits, even | sign_bit) << std::hex << pattern;
      ASSERT_EQ(T(static_cast<double>(signed_midpoint)).bits, even | sign_bit) << std::hex << pattern;
      const float below = std::nextafter(midpoint, 0.0f), above = std::nextafter(midpoint, INFINITY);
      ASSERT_EQ(T(static_cast<float>(sign) * below).bits, low_bits | sign_bit) << std::hex << pattern;
      ASSERT_EQ(T(static_cast<float>(sign) * above).bits, high_bits | sign_bit) << std::hex << pattern;
      // float64 just off the midpoint: one rounding, not float64 -> float32
      // (which lands on the midpoint) -> 16 bits (which would tie to even).
      const double just_below = (low + high) / 2 - std::ldexp(std::fabs(low + high), -45);
      const double just_above = (low + high) / 2 + std::ldexp(std::fabs(low + high), -45);
      if (just_below > low) {
        ASSERT_EQ(T(sign * just_below).bits, low_bits | sign_bit) << std::hex << pattern;
      }
      ASSERT_EQ(T(sign * just_above).bits, high_bits | sign_bit) << std::hex << pattern;
    }
  }
}

TYPED_TEST(LowPrecisionTest, OverflowAndSpecialValues) {
  using T = TypeParam;
  const std::uint16_t infinity = Format<T>::exponent_bits == 8 ? 0x7f80 : 0x7c00;
  EXPECT_EQ(T(INFINITY).bits, infinity);
  EXPECT_EQ(T(-INFINITY).bits, infinity | 0x8000);
  EXPECT_EQ(T(std::numeric_limits<double>::infinity()).bits, infinity);
  EXPECT_EQ(T(1e300).bits, infinity);
  EXPECT_EQ(T(0.0f).bits, 0);
  EXPECT_EQ(T(-0.0f).bits, 0x8000);
  EXPECT_EQ(T(-0.0).bits, 0x8000);
  EXPECT_EQ(T(-1e-300).bits, 0x8000);
  EXPECT_TRUE(std::isnan(static_cast<float>(T(std::nanf("")))));
  EXPECT_TRUE(std::isnan(static_cast<float>(T(std::nan("")))));
  EXPECT_EQ(T(std::int64_t{3}).bits, T(3.0f).bits);
  EXPECT_EQ(T(true).bits, T(1.0f).bits);
  EXPECT_EQ(static_cast<float>(T(-2.5f)), -2.5f);
}

TEST(LowPrecision, Float16Boundaries) {
  EXPECT_EQ(Float16(65504.0f).bits, 0x7bff);           // the largest finite value
  EXPECT_EQ(Float16(65519.996f).bits, 0x7bff);         // below the midpoint to 65536
  EXPECT_EQ(Float16(65520.0f).bits, 0x7c00);           // the midpoint: ties to "even" infinity
  EXPECT_EQ(Float16(0x1p-24f).bits, 0x0001);           // the smallest subnormal
  EXPECT_EQ(Float16(0x1p-25f).bits, 0x0000);           // half of it: ties to even 0
  EXPECT_EQ(Float16(0x1.000002p-25f).bits, 0x0001);    // just above half
  EXPECT_EQ(Float16(0x1.ffcp-15f).bits, 0x0400);       // the tie above the largest subnormal: to even, the smallest normal
  EXPECT_EQ(Float16(1.0f + 0x1p-11f).bits, 0x3c00);    // a tie at 1: to even
  EXPECT_EQ(Float16(1.0f + 0x1.8p-11f).bits, 0x3c01);  // above the tie
}

TEST(LowPrecision, BFloat16Boundaries) {
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::max()).bits, 0x7f80);  // rounds past the largest to infinity
  EXPECT_EQ(BFloat16(0x1.fep127f).bits, 0x7f7f);
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::denorm_min()).bits, 0x0000);
  EXPECT_EQ(BFloat16(0x1p-133f).bits, 0x0001);  // float32 subnormals keep their top bits
  EXPECT_EQ(BFloat16(1.0f + 0x1p-8f).bits, 0x3f80);
  EXPECT_EQ(BFloat16(1.0f + 0x1.8p-8f).bits, 0x3f81);
  // 1 + 2^-8 + 2^-30 in float64 is above the tie; through float32 it would be the tie.
  EXPECT_EQ(BFloat16(1.0 + 0x1p-8 + 0x1p-30).bits, 0x3f81);
  // A signalling NaN comes back quiet, with the same sign.
  const float signalling = std::bit_cast<float>(std::uint32_t{0xff800001u});
  EXPECT_EQ(BFloat16(signalling).bits & 0xffc0, 0xffc0);
}

#if defined(__FLT16_MAX__)
// The compiler's own float -> _Float16 conversion (round to nearest even) as
// a second reference, on random float32 bit patterns of every kind.
TEST(LowPrecision, Float16AgreesWithTheCompilersConversion) {
  std::mt19937 generator(7);
  for (int i = 0; i < 2'000'000; ++i) {
    const float value = std::bit_cast<float>(static_cast<std::uint32_t>(generator()));
    const auto reference = std::bit_cast<std::uint16_t>(static_cast<_Float16>(value));
    const std::uint16_t ours = Float16(value).bits;
    if (std::isnan(value)) {
      ASSERT_EQ(ours & 0xfe00, reference & 0xfe00) << value;
    } else {
      ASSERT_EQ(ours, reference) << std::hexfloat << value;
    }
  }
}
#endif

}  // namespace
}  // namespace redes

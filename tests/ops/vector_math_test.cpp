// The vectorisable float exp, tanh and sigmoid (kernels/cpu/vector_math.h)
// against double-precision std:: results, over every range they treat
// differently: a sweep of about a million floats, the edges, NaN and the
// infinities.
#include "kernels/cpu/vector_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

namespace redes {
namespace {

// Distance in representable floats between `value` and the float nearest
// to `exact`.
std::int64_t ulp_distance(float value, double exact) {
  const auto ordered = [](float f) {
    const auto bits = static_cast<std::int64_t>(std::bit_cast<std::int32_t>(f));
    return bits < 0 ? std::int64_t{INT32_MIN} - bits : bits;
  };
  return std::abs(ordered(value) - ordered(static_cast<float>(exact)));
}

// The largest ulp error of `fast` against `exact` over floats from `lo` to
// `hi` in `count` even steps, skipping exact results below FLT_MIN.
template <class Fast, class Exact>
std::int64_t worst_ulp(Fast fast, Exact exact, float lo, float hi, int count, float* where) {
  std::int64_t worst = 0;
  for (int i = 0; i <= count; ++i) {
    const float x = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(count);
    const double expected = exact(static_cast<double>(x));
    if (std::abs(expected) < static_cast<double>(FLT_MIN) && expected != 0.0) continue;
    const std::int64_t error = ulp_distance(fast(x), expected);
    if (error > worst) {
      worst = error;
      *where = x;
    }
  }
  return worst;
}

TEST(VectorMathTest, ExpIsWithinTwoUlpOverItsRange) {
  float where = 0.0f;
  EXPECT_LE(worst_ulp(vecmath::exp, [](double x) { return std::exp(x); }, -87.3f, 88.72f, 1 << 20, &where), 2)
      << "at " << where;
  EXPECT_LE(worst_ulp(vecmath::exp, [](double x) { return std::exp(x); }, -1e-3f, 1e-3f, 1 << 16, &where), 2)
      << "at " << where;
}

TEST(VectorMathTest, TanhIsWithinTwoUlpOverItsRange) {
  float where = 0.0f;
  const auto exact = [](double x) { return std::tanh(x); };
  EXPECT_LE(worst_ulp(vecmath::tanh, exact, -12.0f, 12.0f, 1 << 20, &where), 2) << "at " << where;
  // Around the switch between the polynomial and the exp form, and near 0.
  EXPECT_LE(worst_ulp(vecmath::tanh, exact, 0.6f, 0.65f, 1 << 16, &where), 2) << "at " << where;
  EXPECT_LE(worst_ulp(vecmath::tanh, exact, -1e-4f, 1e-4f, 1 << 16, &where), 2) << "at " << where;
}

TEST(VectorMathTest, SigmoidIsWithinThreeUlpOverItsRange) {
  float where = 0.0f;
  const auto exact = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  EXPECT_LE(worst_ulp(vecmath::sigmoid, exact, -80.0f, 30.0f, 1 << 20, &where), 3) << "at " << where;
}

TEST(VectorMathTest, EdgesNanAndInfinitiesMatchTheStandardLibrary) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(vecmath::exp(nan)));
  EXPECT_TRUE(std::isnan(vecmath::tanh(nan)));
  EXPECT_TRUE(std::isnan(vecmath::sigmoid(nan)));
  EXPECT_EQ(vecmath::exp(inf), inf);
  EXPECT_EQ(vecmath::exp(-inf), 0.0f);
  EXPECT_EQ(vecmath::exp(89.0f), inf);
  EXPECT_EQ(vecmath::exp(-200.0f), 0.0f);
  EXPECT_EQ(vecmath::exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isfinite(vecmath::exp(88.72f)));
  EXPECT_EQ(vecmath::tanh(inf), 1.0f);
  EXPECT_EQ(vecmath::tanh(-inf), -1.0f);
  EXPECT_EQ(vecmath::tanh(100.0f), 1.0f);
  EXPECT_EQ(vecmath::tanh(0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(vecmath::tanh(-0.0f)));
  EXPECT_EQ(vecmath::sigmoid(inf), 1.0f);
  EXPECT_EQ(vecmath::sigmoid(-inf), 0.0f);
  EXPECT_EQ(vecmath::sigmoid(0.0f), 0.5f);
}

}  // namespace
}  // namespace redes

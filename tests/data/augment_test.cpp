// Augmentations: exact identities and permutations, noise statistics, the
// per-sample Philox keying (independent of batch composition), the
// per-element helpers of kernels/augment_math.h that both kernels call, and
// every compiled device against the CPU.
#include <cmath>
#include <limits>
#include <numbers>
#include <set>

#include "support/test_support.h"
#include "kernels/augment_math.h"

namespace redes::testing {
namespace {

using data::SampleKeys;

Tensor images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::uint64_t seed = 3,
              DType dtype = kFloat32) {
  return random_tensor({n, c, h, w}, seed, {dtype}, 0.0, 1.0);
}

SampleKeys keys(std::int64_t n, std::uint64_t seed = 11, std::uint64_t epoch = 0) {
  SampleKeys k{seed, epoch, {}};
  for (std::int64_t i = 0; i < n; ++i) k.indices.push_back(100 + 3 * i);
  return k;
}

// Value of an (N, C, H, W) host vector.
double at(const std::vector<double>& v, const Shape& s, std::int64_t n, std::int64_t c, std::int64_t y,
          std::int64_t x) {
  return v[static_cast<std::size_t>(((n * s[1] + c) * s[2] + y) * s[3] + x)];
}

TEST(Augment, FlipMirrorsColumnsAndTwiceIsTheIdentity) {
  const Tensor x = images(3, 2, 4, 5);
  const std::vector<double> in = host_values(x);
  const Tensor flipped = data::flip_horizontal(x, {true, false, true});
  const std::vector<double> out = host_values(flipped);
  for (std::int64_t n = 0; n < 3; ++n) {
    for (std::int64_t c = 0; c < 2; ++c) {
      for (std::int64_t y = 0; y < 4; ++y) {
        for (std::int64_t col = 0; col < 5; ++col) {
          EXPECT_EQ(at(out, x.shape(), n, c, y, col), at(in, x.shape(), n, c, y, n == 1 ? col : 4 - col));
        }
      }
    }
  }
  const Tensor twice = data::random_horizontal_flip(data::random_horizontal_flip(x, 0.5, keys(3)), 0.5, keys(3));
  EXPECT_EQ(host_values(twice), in);
  EXPECT_EQ(host_values(data::random_horizontal_flip(x, 1.0, keys(3))),
            host_values(data::flip_horizontal(x, {true, true, true})));
  EXPECT_EQ(host_values(data::random_horizontal_flip(x, 0.0, keys(3))), in);
}

TEST(Augment, ShiftMovesContentWithZeroFillAndZeroIsTheIdentity) {
  const Tensor x = images(2, 1, 5, 6);
  const std::vector<double> in = host_values(x);
  EXPECT_EQ(host_values(data::random_shift(x, 0, keys(2))), in);
  const std::vector<double> out = host_values(data::shift(x, {{1, -2}, {0, 0}}));
  for (std::int64_t y = 0; y < 5; ++y) {
    for (std::int64_t col = 0; col < 6; ++col) {
      const std::int64_t sy = y + 2, sx = col - 1;
      const double expected = sy < 5 && sx >= 0 ? at(in, x.shape(), 0, 0, sy, sx) : 0.0;
      EXPECT_EQ(at(out, x.shape(), 0, 0, y, col), expected) << y << "," << col;
      EXPECT_EQ(at(out, x.shape(), 1, 0, y, col), at(in, x.shape(), 1, 0, y, col));
    }
  }
  EXPECT_EQ(host_values(data::shift(x, {{6, 0}, {0, -5}})), std::vector<double>(in.size(), 0.0));
}

TEST(Augment, RotationByZeroIsTheIdentity) {
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor x = images(3, 2, 7, 6, 5, dtype);
    EXPECT_EQ(host_values(data::random_rotation(x, 0.0, keys(3))), host_values(x));
    EXPECT_EQ(host_values(data::rotate(x, {0.0, 360.0, -720.0})), host_values(x));
  }
}

TEST(Augment, QuarterTurnsOfASquareImageAreExactPermutations) {
  for (std::int64_t size : {4, 5}) {
    const Tensor x = images(1, 2, size, size, 9);
    const std::vector<double> in = host_values(x);
    const std::vector<double> ccw = host_values(data::rotate(x, {90.0}));
    const std::vector<double> half = host_values(data::rotate(x, {180.0}));
    const std::vector<double> cw = host_values(data::rotate(x, {-90.0}));
    for (std::int64_t c = 0; c < 2; ++c) {
      for (std::int64_t y = 0; y < size; ++y) {
        for (std::int64_t col = 0; col < size; ++col) {
          const std::int64_t last = size - 1;
          // Counter-clockwise as displayed: the top row becomes the left column.
          EXPECT_EQ(at(ccw, x.shape(), 0, c, y, col), at(in, x.shape(), 0, c, col, last - y));
          EXPECT_EQ(at(half, x.shape(), 0, c, y, col), at(in, x.shape(), 0, c, last - y, last - col));
          EXPECT_EQ(at(cw, x.shape(), 0, c, y, col), at(in, x.shape(), 0, c, last - col, y));
        }
      }
    }
  }
}

TEST(Augment, SmallRotationMatchesAnIndependentBilinearReference) {
  const Tensor x = images(1, 1, 9, 8, 4, kFloat64);
  const std::vector<double> in = host_values(x);
  const double degrees = 17.0, radians = degrees * std::numbers::pi / 180.0;
  const std::vector<double> out = host_values(data::rotate(x, {degrees}));
  const double cx = 3.5, cy = 4.0;
  auto pixel = [&](double yy, double xx) {
    if (xx < 0 || yy < 0 || xx > 7 || yy > 8) return 0.0;
    return at(in, x.shape(), 0, 0, static_cast<std::int64_t>(yy), static_cast<std::int64_t>(xx));
  };
  for (std::int64_t y = 0; y < 9; ++y) {
    for (std::int64_t col = 0; col < 8; ++col) {
      const double u = static_cast<double>(col) - cx, v = static_cast<double>(y) - cy;
      const double sx = cx + std::cos(radians) * u - std::sin(radians) * v;
      const double sy = cy + std::sin(radians) * u + std::cos(radians) * v;
      const double x0 = std::floor(sx), y0 = std::floor(sy), fx = sx - x0, fy = sy - y0;
      const double expected = (1 - fx) * (1 - fy) * pixel(y0, x0) + fx * (1 - fy) * pixel(y0, x0 + 1) +
                              (1 - fx) * fy * pixel(y0 + 1, x0) + fx * fy * pixel(y0 + 1, x0 + 1);
      EXPECT_NEAR(at(out, x.shape(), 0, 0, y, col), expected, 1e-12) << y << "," << col;
    }
  }
}

TEST(Augment, NoiseHasTheRequestedMeanAndStd) {
  const Tensor x = zeros({64, 1, 28, 28});
  const std::vector<double> noise = host_values(data::gaussian_noise(x, 0.5, keys(64)));
  double sum = 0, sum_sq = 0;
  for (double v : noise) {
    sum += v;
    sum_sq += v * v;
  }
  const double count = static_cast<double>(noise.size());
  const double mean = sum / count, deviation = std::sqrt(sum_sq / count - mean * mean);
  // 50,176 draws: standard errors 0.0022 (mean) and 0.0016 (std).
  EXPECT_NEAR(mean, 0.0, 0.012);
  EXPECT_NEAR(deviation, 0.5, 0.008);
  EXPECT_EQ(host_values(data::gaussian_noise(x, 0.0, keys(64))), host_values(x));
}

TEST(Augment, SameSeedEpochAndIndexGiveTheSameResultInAnyBatch) {
  const Tensor x = images(4, 3, 8, 8);
  const SampleKeys all = keys(4, 21, 2);
  const Tensor full_batch = data::augment(x, {}, all);
  // Samples 2 and 0 alone, in another order, with the same dataset indices.
  const Tensor part =
      data::augment(data::TensorDataset({x}).get({2, 0})[0], {}, {21, 2, {all.indices[2], all.indices[0]}});
  const std::vector<double> whole = host_values(full_batch), sub = host_values(part);
  const std::size_t per_sample = 3 * 8 * 8;
  for (std::size_t j = 0; j < per_sample; ++j) {
    EXPECT_EQ(sub[j], whole[2 * per_sample + j]);
    EXPECT_EQ(sub[per_sample + j], whole[j]);
  }
  EXPECT_EQ(host_values(data::augment(x, {}, all)), whole);
  EXPECT_NE(host_values(data::augment(x, {}, keys(4, 21, 3))), whole);  // another epoch
  EXPECT_NE(host_values(data::augment(x, {}, keys(4, 22, 2))), whole);  // another seed
}

TEST(Augment, DrawsCoverTheirRangesWithTheRightFrequencies) {
  namespace math = data::augment_math;
  std::set<std::int64_t> shifts;
  int flips = 0;
  double lowest = 1e9, highest = -1e9;
  for (std::uint64_t index = 0; index < 4000; ++index) {
    const std::uint64_t key = math::sample_key(5, 1, index);
    for (int axis = 0; axis < 2; ++axis) {
      const std::int64_t s = math::draw_shift(key, axis, 2);
      ASSERT_GE(s, -2);
      ASSERT_LE(s, 2);
      shifts.insert(s);
    }
    flips += math::draw_flip(key, 0.25f) ? 1 : 0;
    const double degrees = math::draw_degrees(key, 10.0);
    ASSERT_GE(degrees, -10.0);
    ASSERT_LT(degrees, 10.0);
    lowest = std::min(lowest, degrees);
    highest = std::max(highest, degrees);
  }
  EXPECT_EQ(shifts.size(), 5u);
  EXPECT_NEAR(flips / 4000.0, 0.25, 0.03);
  EXPECT_LT(lowest, -9.5);
  EXPECT_GT(highest, 9.5);
  EXPECT_NE(math::sample_key(5, 1, 0), math::sample_key(5, 2, 0));
  EXPECT_NE(math::sample_key(5, 1, 0), math::sample_key(6, 1, 0));
}

TEST(Augment, SinCosOfDegreesIsExactAtQuarterTurns) {
  namespace math = data::augment_math;
  const double expected[][2] = {{0, 1}, {1, 0}, {0, -1}, {-1, 0}};
  for (int k = -8; k <= 8; ++k) {
    double s = 7, c = 7;
    math::sin_cos_degrees(90.0 * k, s, c);
    const int quadrant = ((k % 4) + 4) % 4;
    EXPECT_EQ(s, expected[quadrant][0]) << k;
    EXPECT_EQ(c, expected[quadrant][1]) << k;
  }
  double s = 0, c = 0;
  math::sin_cos_degrees(30.0, s, c);
  EXPECT_NEAR(s, 0.5, 1e-15);
  math::sin_cos_degrees(-135.0, s, c);
  EXPECT_NEAR(s, -std::sqrt(0.5), 1e-15);
  EXPECT_NEAR(c, -std::sqrt(0.5), 1e-15);
}

TEST(Augment, RefusesBadArguments) {
  const Tensor x = images(2, 1, 4, 4);
  EXPECT_THROW(data::random_horizontal_flip(x, 0.5, keys(3)), Error);  // 3 keys for 2 samples
  EXPECT_THROW(data::random_horizontal_flip(x, 1.5, keys(2)), Error);
  EXPECT_THROW(data::random_shift(x, -1, keys(2)), Error);
  EXPECT_THROW(data::random_rotation(x, std::numeric_limits<double>::quiet_NaN(), keys(2)), Error);
  EXPECT_THROW(data::gaussian_noise(x, -1.0, keys(2)), Error);
  EXPECT_THROW(data::rotate(x, {1.0, std::numeric_limits<double>::infinity()}), Error);
  EXPECT_THROW(data::flip_horizontal(zeros({2, 4, 4}), {true, true}), Error);
  EXPECT_THROW(data::flip_horizontal(zeros({2, 1, 4, 4}, {kInt64}), {true, true}), Error);
  EXPECT_THROW(data::gaussian_noise(x, 0.1, {0, 0, {1, -1}}), Error);
  EXPECT_THROW(data::normalize(x, 0.5, 0.0), Error);
}

TEST(Augment, NormalizeSubtractsMeanAndDividesByStd) {
  const Tensor x = tensor({0.0, 0.5, 1.0}).reshape({1, 1, 1, 3});
  EXPECT_TRUE(all_close(data::normalize(x, 0.25, 0.5), {-0.5, 0.5, 1.5}, 1e-7, 1e-7));
}

class AugmentDevices : public ::testing::TestWithParam<Device> {};

TEST_P(AugmentDevices, ResultStaysOnTheDeviceAndMatchesTheHost) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor host = images(3, 1, 6, 6);
  const Tensor result = data::augment(host.to(GetParam()), {}, keys(3));
  EXPECT_EQ(result.device(), GetParam());
  // The pipeline includes a rotation, whose interpolation a GPU may contract
  // into FMAs: within RotationMatchesTheCpuWithinRounding's tolerance.
  EXPECT_TRUE(all_close(result, data::augment(host, {}, keys(3)), 1e-5, 0));
}

TEST_P(AugmentDevices, FlipAndShiftAreBitIdenticalToTheCpu) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const DType dtype : {kFloat32, kFloat64}) {
    const Tensor host = images(5, 3, 7, 9, 4, dtype);
    const Tensor device = host.to(GetParam());
    EXPECT_EQ(host_values(data::random_horizontal_flip(device, 0.5, keys(5))),
              host_values(data::random_horizontal_flip(host, 0.5, keys(5))));
    EXPECT_EQ(host_values(data::random_shift(device, 3, keys(5))), host_values(data::random_shift(host, 3, keys(5))));
    const std::vector<data::PixelShift> far{{-9, 0}, {0, 7}, {2, -3}, {20, 20}, {0, 0}};
    EXPECT_EQ(host_values(data::shift(device, far)), host_values(data::shift(host, far)));
  }
}

TEST_P(AugmentDevices, RotationMatchesTheCpuWithinRounding) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::vector<double> degrees{0, 90, -180, 12.5, -37};
  for (const DType dtype : {kFloat32, kFloat64}) {
    const double tolerance = dtype == kFloat32 ? 1e-5 : 1e-12;  // pixels in [0, 1]
    const Tensor host = images(5, 2, 8, 8, 5, dtype);
    EXPECT_TRUE(all_close(data::rotate(host.to(GetParam()), degrees), data::rotate(host, degrees), tolerance, 0));
    EXPECT_TRUE(all_close(data::random_rotation(host.to(GetParam()), 10, keys(5)),
                          data::random_rotation(host, 10, keys(5)), tolerance, 0));
  }
}

TEST_P(AugmentDevices, NoiseMatchesTheCpuWithinTheNormalContract) {
  REDES_REQUIRE_DEVICE(GetParam());
  // Normal draws agree to a few ulp of z (|z| < 6); times std = 0.5 and added
  // to a pixel in [0, 1], that stays far below these bounds.
  for (const DType dtype : {kFloat32, kFloat64}) {
    const double tolerance = dtype == kFloat32 ? 4e-6 : 1e-14;
    const Tensor host = images(4, 3, 5, 6, 6, dtype);
    EXPECT_TRUE(all_close(data::gaussian_noise(host.to(GetParam()), 0.5, keys(4, 2, 3)),
                          data::gaussian_noise(host, 0.5, keys(4, 2, 3)), tolerance, 0));
  }
}

TEST_P(AugmentDevices, StridedBatchesGiveTheContiguousResult) {
  REDES_REQUIRE_DEVICE(GetParam());
  // An NHWC tensor viewed as NCHW: the augmentations read the logical layout.
  const Tensor nhwc = random_tensor({3, 6, 5, 2}, 8, {kFloat32, GetParam()}, 0, 1);
  const Tensor strided = nhwc.permute({0, 3, 1, 2});
  ASSERT_FALSE(strided.is_contiguous());
  const Tensor dense = strided.contiguous();
  EXPECT_EQ(host_values(data::augment(strided, {}, keys(3))), host_values(data::augment(dense, {}, keys(3))));
}

REDES_INSTANTIATE_FOR_DEVICES(AugmentDevices);

}  // namespace
}  // namespace redes::testing

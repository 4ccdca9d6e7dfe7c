// Philox4x32-10 against the Random123 known-answer vectors, and the
// element/offset contract of kernels/philox.h.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "kernels/cpu/philox_blocks.h"
#include "kernels/philox.h"
#include "support/test_support.h"

namespace redes {
namespace {

struct KnownAnswer {
  philox::Block counter;
  std::uint32_t key0, key1;
  philox::Block expected;
};

// kat_vectors of Random123 1.09 (philox4x32 10).
const KnownAnswer kKnownAnswers[] = {
    {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
    {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
     0xffffffffu,
     0xffffffffu,
     {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
    {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
     0xa4093822u,
     0x299f31d0u,
     {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
};

TEST(Philox, MatchesRandom123KnownAnswers) {
  for (const KnownAnswer& answer : kKnownAnswers) {
    const philox::Block out = philox::philox4x32_10(answer.counter, answer.key0, answer.key1);
    for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(out.v[lane], answer.expected.v[lane]) << "lane " << lane;
  }
}

// The CPU's many-blocks-at-once generator, in the SIMD width this machine
// picks, against the one-block reference: counters whose low word wraps into
// the high one, keys with both words set, and every batch length.
REDES_VECTOR_CLONES void fill_blocks(std::uint64_t seed, std::uint64_t first, int count, std::uint32_t* bits) {
  cpu::philox_blocks(seed, first, count, bits);
}

TEST(Philox, BlocksAtOnceEqualOneBlockAtATime) {
  std::uint32_t bits[4 * cpu::kPhiloxBatch];
  for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{0x0123456789ABCDEF}, ~std::uint64_t{0}}) {
    for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{0xFFFFFFF0}, std::uint64_t{1} << 40}) {
      for (const int count : {1, 3, 17, cpu::kPhiloxBatch}) {
        fill_blocks(seed, first, count, bits);
        for (int j = 0; j < count; ++j) {
          const philox::Block expected = philox::stream_block(seed, first + static_cast<std::uint64_t>(j));
          for (int lane = 0; lane < 4; ++lane) {
            ASSERT_EQ(bits[4 * j + lane], expected.v[lane]) << "seed " << seed << " block " << first + j;
          }
        }
      }
    }
  }
}

TEST(Philox, ElementContractUsesBlockOffsetPlusIndexOverFour) {
  const std::uint64_t seed = 0x0123456789abcdefULL, offset = 5;
  for (std::uint64_t i = 0; i < 12; ++i) {
    const std::uint64_t block = offset + i / 4;
    const philox::Block expected = philox::philox4x32_10(
        {{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0, 0}},
        static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    EXPECT_EQ(philox::bits(seed, offset, i), expected.v[i % 4]) << "element " << i;
  }
  EXPECT_EQ(philox::uniform(1, 0, 0), static_cast<float>(philox::bits(1, 0, 0) >> 8) / 16777216.0f);
}

TEST(Philox, DrawsAreReproducibleAndAdvanceTheOffset) {
  Generator a(77), b(77);
  const std::vector<std::int64_t> first = random_bits({10}, Device::cpu(), &a).to_vector<std::int64_t>();
  EXPECT_EQ(a.offset(), 3u);  // ceil(10 / 4) blocks
  EXPECT_EQ(first, random_bits({10}, Device::cpu(), &b).to_vector<std::int64_t>());
  // Element 4 of a draw at offset 0 is element 0 of a draw at offset 1.
  Generator c(77);
  c.set_state(77, 1);
  EXPECT_EQ(random_bits({1}, Device::cpu(), &c).to_vector<std::int64_t>()[0], first[4]);
  const std::vector<std::int64_t> second = random_bits({10}, Device::cpu(), &a).to_vector<std::int64_t>();
  EXPECT_NE(first, second);
  Generator normals(1);
  randn({5}, {}, &normals);
  EXPECT_EQ(normals.offset(), 2u);  // 6 uniforms in the Box-Muller stream
}

TEST(Philox, UniformStaysInRangeWithTheRightMoments) {
  Generator generator(2024);
  const std::vector<double> u = testing::host_values(rand({100000}, {kFloat64}, &generator));
  double sum = 0, sum_sq = 0;
  for (double v : u) {
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
    sum += v;
    sum_sq += v * v;
  }
  const double mean = sum / 1e5, variance = sum_sq / 1e5 - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);            // 5 standard errors
  EXPECT_NEAR(variance, 1.0 / 12.0, 0.002);
}

TEST(Philox, NormalHasTheRightMoments) {
  Generator generator(99);
  const std::vector<double> z = testing::host_values(normal({100000}, 3.0, 2.0, {kFloat32}, &generator));
  double sum = 0, sum_sq = 0;
  for (double v : z) {
    sum += v;
    sum_sq += v * v;
  }
  const double mean = sum / 1e5, std = std::sqrt(sum_sq / 1e5 - mean * mean);
  EXPECT_NEAR(mean, 3.0, 0.03);
  EXPECT_NEAR(std, 2.0, 0.03);
}

TEST(Philox, BernoulliMatchesUniformThreshold) {
  Generator g1(5), g2(5);
  const std::vector<double> mask = testing::host_values(bernoulli({1000}, 0.3, {}, &g1));
  const std::vector<double> u = testing::host_values(rand({1000}, {}, &g2));
  double ones_count = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    EXPECT_EQ(mask[i], u[i] < static_cast<double>(0.3f) ? 1.0 : 0.0) << i;
    ones_count += mask[i];
  }
  EXPECT_NEAR(ones_count / 1000, 0.3, 0.05);
  EXPECT_EQ(testing::host_values(bernoulli({64}, 0.0)), std::vector<double>(64, 0.0));
  EXPECT_EQ(testing::host_values(bernoulli({64}, 1.0)), std::vector<double>(64, 1.0));
}

class PhiloxDevices : public ::testing::TestWithParam<Device> {};

// The same seed gives bit-identical uint32/uniform/Bernoulli draws on every device.
TEST_P(PhiloxDevices, DrawsMatchTheCpuBitForBit) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (std::int64_t n : {1, 7, 4097}) {
    Generator cpu_gen(31), dev_gen(31);
    EXPECT_EQ(random_bits({n}, Device::cpu(), &cpu_gen).to_vector<std::int64_t>(),
              random_bits({n}, GetParam(), &dev_gen).to_vector<std::int64_t>());
    EXPECT_EQ(rand({n}, {}, &cpu_gen).to_vector<float>(), rand({n}, {kFloat32, GetParam()}, &dev_gen).to_vector<float>());
    EXPECT_EQ(bernoulli({n}, 0.4, {}, &cpu_gen).to_vector<float>(),
              bernoulli({n}, 0.4, {kFloat32, GetParam()}, &dev_gen).to_vector<float>());
    const Tensor cpu_normal = randn({n}, {}, &cpu_gen);
    const Tensor dev_normal = randn({n}, {kFloat32, GetParam()}, &dev_gen);
    EXPECT_TRUE(testing::all_close(dev_normal, testing::host_values(cpu_normal), 1e-6, 1e-6));
  }
}

REDES_INSTANTIATE_FOR_DEVICES(PhiloxDevices);

}  // namespace
}  // namespace redes

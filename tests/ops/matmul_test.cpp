// 2-D matmul against a naive triple loop: odd sizes, 1-sized dims, transposed
// and sliced operands; float64 gradcheck.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

std::vector<double> reference_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> av = host_values(a), bv = host_values(b);
  const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> out(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::int64_t p = 0; p < k; ++p) acc += av[static_cast<std::size_t>(i * k + p)] * bv[static_cast<std::size_t>(p * n + j)];
      out[static_cast<std::size_t>(i * n + j)] = acc;
    }
  }
  return out;
}

class MatmulTest : public ::testing::TestWithParam<Device> {};

TEST_P(MatmulTest, MatchesNaiveProduct) {
  REDES_REQUIRE_DEVICE(GetParam());
  const std::int64_t sizes[][3] = {{1, 1, 1}, {1, 7, 1}, {5, 1, 3}, {3, 17, 9}, {64, 33, 65}, {130, 70, 1}, {0, 3, 2}, {2, 0, 3}};
  std::uint64_t seed = 100;
  for (const auto& s : sizes) {
    for (DType dtype : {kFloat32, kFloat64}) {
      SCOPED_TRACE(std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]) + " " + dtype_name(dtype));
      const Tensor a = testing::random_tensor({s[0], s[1]}, seed++, {dtype, GetParam()});
      const Tensor b = testing::random_tensor({s[1], s[2]}, seed++, {dtype, GetParam()});
      const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
      EXPECT_TRUE(all_close(matmul(a, b), reference_matmul(a, b), tol, tol));
    }
  }
}

TEST_P(MatmulTest, TransposedAndSlicedOperands) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor at = testing::random_tensor({9, 6}, 1, {kFloat32, GetParam()}).t();     // (6, 9) column-major
  const Tensor bt = testing::random_tensor({5, 9}, 2, {kFloat32, GetParam()}).t();     // (9, 5) column-major
  const Tensor strided = testing::random_tensor({9, 12}, 3, {kFloat32, GetParam()}).slice(1, 0, 12, 3);  // (9, 4), stride 3
  const Tensor rows = testing::random_tensor({12, 9}, 4, {kFloat32, GetParam()}).slice(0, 2, 8);   // (6, 9), lda 9
  EXPECT_TRUE(all_close(matmul(at, bt), reference_matmul(at, bt), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(matmul(at, strided), reference_matmul(at, strided), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(matmul(rows, bt), reference_matmul(rows, bt), 1e-5, 1e-5));
}

TEST_P(MatmulTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = testing::random_tensor({4, 3}, 7, {kFloat64, GetParam()});
  const Tensor b = testing::random_tensor({3, 5}, 8, {kFloat64, GetParam()});
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return matmul(in[1].t(), in[0].t()); }, {a, b}));
  EXPECT_TRUE(testing::gradcheck(
      [](const std::vector<Tensor>& in) { return relu(matmul(in[0], in[1]) + in[2]); },
      {a, b, testing::random_tensor({5}, 9, {kFloat64, GetParam()})}));
}

REDES_INSTANTIATE_FOR_DEVICES(MatmulTest);

}  // namespace
}  // namespace redes

// 2-D matmul against a naive triple loop: odd sizes, 1-sized dims, transposed
// and sliced operands; float64 gradcheck.
#include <gtest/gtest.h>

#include <array>

#include "kernels/gemm_layout.h"
#include "kernels/registry.h"
#include "support/forced_impl.h"
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

TEST(GemmLayout, AcceptsOnlyLayoutsABlasCanRead) {
  EXPECT_FALSE(gemm_layout(4, 5, 5, 1)->transposed);  // row-major
  EXPECT_EQ(gemm_layout(4, 5, 8, 1)->leading, 8);      // padded rows
  EXPECT_TRUE(gemm_layout(4, 5, 1, 4)->transposed);    // column-major
  EXPECT_EQ(gemm_layout(1, 5, 0, 1)->leading, 5);      // one row: its stride is never used
  EXPECT_FALSE(gemm_layout(4, 5, 0, 1).has_value());   // broadcast rows overlap
  EXPECT_FALSE(gemm_layout(4, 5, 3, 1).has_value());   // rows closer than their length
  EXPECT_FALSE(gemm_layout(4, 5, 10, 2).has_value());  // no unit stride
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

TEST_P(MatmulTest, BroadcastRowsAndOverlappingStridesAreNotReadPastTheEnd) {
  REDES_REQUIRE_DEVICE(GetParam());
  // (1, k) expanded to (m, k) has strides (0, 1): not a GEMM layout, so it is copied.
  const Tensor row = testing::random_tensor({1, 5}, 30, {kFloat64, GetParam()});
  const Tensor b = testing::random_tensor({5, 3}, 31, {kFloat64, GetParam()});
  const Tensor expanded = row.expand({4, 5});
  EXPECT_TRUE(all_close(matmul(expanded, b), reference_matmul(expanded.contiguous(), b), 1e-12, 1e-12));
  const Tensor column = testing::random_tensor({5, 1}, 32, {kFloat64, GetParam()}).expand({5, 3});
  EXPECT_TRUE(all_close(matmul(b.t(), column), reference_matmul(b.t().contiguous(), column.contiguous()), 1e-12, 1e-12));
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

TEST_P(MatmulTest, BatchedWithBroadcastBatchDims) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = testing::random_tensor({2, 3, 4, 5}, 11, {kFloat64, GetParam()});
  const Tensor b = testing::random_tensor({3, 5, 2}, 12, {kFloat64, GetParam()});
  const Tensor out = matmul(a, b);
  ASSERT_EQ(out.shape(), (Shape{2, 3, 4, 2}));
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      const Tensor ai = a.select(0, i).select(0, j), bj = b.select(0, j);
      EXPECT_TRUE(all_close(out.select(0, i).select(0, j), reference_matmul(ai, bj), 1e-12, 1e-12));
    }
  }
  const Tensor shared = testing::random_tensor({5, 3}, 13, {kFloat64, GetParam()});
  const Tensor broadcast = matmul(a, shared);  // one matrix for every batch entry
  EXPECT_TRUE(all_close(broadcast.select(0, 1).select(0, 2), reference_matmul(a.select(0, 1).select(0, 2), shared),
                        1e-12, 1e-12));
  EXPECT_THROW(matmul(a, testing::random_tensor({2, 5, 2}, 14, {kFloat64, GetParam()})), Error);
}

TEST_P(MatmulTest, VectorOperands) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor m = arange(6, {kFloat64, GetParam()}).reshape({2, 3});
  const Tensor v = from_vector(std::vector<double>{1, 0, -1}, {3}, {kFloat64, GetParam()});
  const Tensor w = from_vector(std::vector<double>{2, 1}, {2}, {kFloat64, GetParam()});
  EXPECT_EQ(matmul(m, v).shape(), (Shape{2}));
  EXPECT_TRUE(all_close(matmul(m, v), {-2, -2}, 0, 0));
  EXPECT_TRUE(all_close(matmul(w, m), {3, 6, 9}, 0, 0));
  EXPECT_EQ(matmul(v, v).dim(), 0);
  EXPECT_TRUE(all_close(matmul(v, v), {2}, 0, 0));
}

TEST_P(MatmulTest, AddmmAddsTheBiasInTheGemm) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = testing::random_tensor({6, 4}, 15, {kFloat32, GetParam()});
  const Tensor b = testing::random_tensor({4, 3}, 16, {kFloat32, GetParam()});
  const Tensor bias = testing::random_tensor({3}, 17, {kFloat32, GetParam()});
  EXPECT_TRUE(all_close(addmm(bias, a, b), matmul(a, b) + bias, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(addmm(bias.reshape({1, 3}), a.t().contiguous().t(), b), matmul(a, b) + bias, 1e-6, 1e-6));
  const Tensor a64 = a.to(kFloat64), b64 = b.to(kFloat64), bias64 = bias.to(kFloat64);
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2]); },
                                 {bias64, a64, b64}));
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                                 {testing::random_tensor({2, 3, 4}, 18, {kFloat64, GetParam()}),
                                  testing::random_tensor({4, 2}, 19, {kFloat64, GetParam()})}));
  EXPECT_TRUE(testing::gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                                 {testing::random_tensor({3}, 20, {kFloat64, GetParam()}),
                                  testing::random_tensor({2, 3, 2}, 21, {kFloat64, GetParam()})}));
}

// Each matmul implementation of the device, forced in turn (on CUDA: cuBLAS
// and the two tiled hand kernels), against the naive product: sizes that are not
// multiples of the 16-wide tiles, batch 1 and broadcast batches, transposed
// and sliced operands, and accumulation into the output (addmm).
TEST_P(MatmulTest, EveryImplementationMatchesNaiveProduct) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::vector<std::string> names;
  for (const KernelEntry* entry : KernelRegistry::instance().candidates("matmul", GetParam().type, kFloat32)) {
    names.push_back(entry->name);
  }
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    // oneDNN serves large float32 products only: its own test below.
    if (GetParam().is_cpu() && name == "onednn") continue;
    SCOPED_TRACE(name);
    const testing::ForcedImpl forced({"matmul"}, name);
    std::uint64_t seed = 200;
    // Shapes for every tile of the register-tiled kernel (tall: n <= 16,
    // wide: m <= 16, square), several tiles and ragged edges.
    for (const auto& s : {std::array<std::int64_t, 3>{1, 1, 1}, {17, 33, 15}, {40, 3, 70}, {2, 0, 5}, {5, 37, 150},
                          {130, 70, 90}}) {
      for (DType dtype : {kFloat32, kFloat64}) {
        const Tensor a = testing::random_tensor({s[0], s[1]}, seed++, {dtype, GetParam()});
        const Tensor b = testing::random_tensor({s[1], s[2]}, seed++, {dtype, GetParam()});
        const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
        EXPECT_TRUE(all_close(matmul(a, b), reference_matmul(a, b), tol, tol));
      }
    }
    const Tensor at = testing::random_tensor({19, 6}, 1, {kFloat64, GetParam()}).t();
    const Tensor strided = testing::random_tensor({19, 12}, 3, {kFloat64, GetParam()}).slice(1, 0, 12, 3);
    EXPECT_TRUE(all_close(matmul(at, strided), reference_matmul(at, strided), 1e-12, 1e-12));
    const Tensor batched = testing::random_tensor({3, 18, 5}, 4, {kFloat64, GetParam()});
    const Tensor shared = testing::random_tensor({5, 21}, 5, {kFloat64, GetParam()});
    const Tensor out = matmul(batched, shared);
    for (std::int64_t i = 0; i < 3; ++i) {
      EXPECT_TRUE(all_close(out.select(0, i), reference_matmul(batched.select(0, i), shared), 1e-12, 1e-12));
    }
    const Tensor bias = testing::random_tensor({21}, 6, {kFloat64, GetParam()});
    const Tensor plain = testing::random_tensor({7, 5}, 7, {kFloat64, GetParam()});
    EXPECT_TRUE(all_close(addmm(bias, plain, shared), matmul(plain, shared) + bias, 1e-12, 1e-12));
  }
}

REDES_INSTANTIATE_FOR_DEVICES(MatmulTest);

// oneDNN's float32 matmul, forced, on products of at least 2^18
// multiply-adds (below that OpenBLAS runs): odd sizes, one row, transposed
// and sliced operands, a batch against a shared matrix, addmm's accumulation;
// and smaller products still served, by OpenBLAS.
TEST(MatmulOnednn, LargeFloatProductsMatchTheNaiveProduct) {
  if (KernelRegistry::instance().candidates("matmul", DeviceType::CPU, kFloat32).front()->name != "onednn") {
    GTEST_SKIP() << "built without oneDNN";
  }
  const testing::ForcedImpl forced({"matmul"}, "onednn");
  std::uint64_t seed = 400;
  for (const auto& s : {std::array<std::int64_t, 3>{65, 65, 65}, {257, 33, 31}, {1, 600, 500}, {130, 70, 90}}) {
    SCOPED_TRACE(std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]));
    const Tensor a = testing::random_tensor({s[0], s[1]}, seed++);
    const Tensor b = testing::random_tensor({s[1], s[2]}, seed++);
    EXPECT_TRUE(all_close(matmul(a, b), reference_matmul(a, b), 1e-4, 1e-4));
    const Tensor at = testing::random_tensor({s[1], s[0]}, seed++).t();
    const Tensor sliced = testing::random_tensor({s[1], 2 * s[2]}, seed++).slice(1, 0, 2 * s[2], 2);
    EXPECT_TRUE(all_close(matmul(at, sliced), reference_matmul(at, sliced), 1e-4, 1e-4));
  }
  const Tensor batched = testing::random_tensor({3, 90, 70}, 1);
  const Tensor shared = testing::random_tensor({70, 50}, 2);
  const Tensor out = matmul(batched, shared);
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(all_close(out.select(0, i), reference_matmul(batched.select(0, i), shared), 1e-4, 1e-4));
  }
  const Tensor bias = testing::random_tensor({50}, 3);
  const Tensor plain = batched.select(0, 1);
  EXPECT_TRUE(all_close(addmm(bias, plain, shared), host_values(matmul(plain, shared) + bias), 1e-6, 1e-6));
  EXPECT_THROW(matmul(testing::random_tensor({8, 8}, 4), testing::random_tensor({8, 8}, 5)), Error)
      << "forced oneDNN refuses a product below its size";
  const testing::ForcedImpl unforced({"matmul"}, "");
  const Tensor small_a = testing::random_tensor({8, 9}, 6), small_b = testing::random_tensor({9, 7}, 7);
  EXPECT_TRUE(all_close(matmul(small_a, small_b), reference_matmul(small_a, small_b), 1e-5, 1e-5));
}

}  // namespace
}  // namespace redes

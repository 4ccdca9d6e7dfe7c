// Elementwise ops against a naive reference on random inputs: several shapes,
// size-1 dims, broadcasting, non-contiguous views; plus float64 gradchecks.
#include <gtest/gtest.h>

#include <cmath>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::host_values;

// Reference broadcasting, written independently of the library: maps each
// output index to the input index by dropping broadcast coordinates.
std::vector<double> reference_binary(const Tensor& a, const Tensor& b, double (*f)(double, double)) {
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), "reference");
  const std::vector<double> av = host_values(a), bv = host_values(b);
  const auto source_index = [&](const Shape& in_shape, std::int64_t linear) {
    std::int64_t index = 0, stride = 1;
    for (std::size_t k = 0; k < out_shape.size(); ++k) {
      const std::size_t d = out_shape.size() - 1 - k;
      const std::int64_t coordinate = linear % out_shape[d];
      linear /= out_shape[d];
      if (k < in_shape.size()) {
        const std::int64_t size = in_shape[in_shape.size() - 1 - k];
        index += (size == 1 ? 0 : coordinate) * stride;
        stride *= size;
      }
    }
    return index;
  };
  std::vector<double> out(static_cast<std::size_t>(numel_of(out_shape)));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto linear = static_cast<std::int64_t>(i);
    out[i] = f(av[static_cast<std::size_t>(source_index(a.shape(), linear))],
               bv[static_cast<std::size_t>(source_index(b.shape(), linear))]);
  }
  return out;
}

struct ShapePair {
  Shape a, b;
};

const ShapePair kShapePairs[] = {
    {{7}, {7}},           {{1}, {5}},          {{3, 1}, {1, 4}},    {{2, 3, 5}, {5}},
    {{}, {4, 3}},         {{1, 1, 9}, {2, 1, 9}}, {{33, 17}, {33, 17}}, {{2, 0, 3}, {3}},
};

class ElementwiseTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor random(const Shape& shape, std::uint64_t seed, DType dtype = kFloat32, double low = -2, double high = 2) {
    return testing::random_tensor(shape, seed, {dtype, GetParam()}, low, high);
  }
};

TEST_P(ElementwiseTest, BinaryOpsMatchReferenceWithBroadcasting) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 10;
  for (const ShapePair& shapes : kShapePairs) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const Tensor a = random(shapes.a, seed++, dtype);
      const Tensor b = random(shapes.b, seed++, dtype, 0.5, 2.0);  // away from 0 for div
      const double tol = dtype == kFloat32 ? 1e-6 : 1e-14;
      SCOPED_TRACE(shape_str(shapes.a) + " with " + shape_str(shapes.b) + " " + dtype_name(dtype));
      EXPECT_TRUE(all_close(a + b, reference_binary(a, b, [](double x, double y) { return x + y; }), tol, tol));
      EXPECT_TRUE(all_close(a - b, reference_binary(a, b, [](double x, double y) { return x - y; }), tol, tol));
      EXPECT_TRUE(all_close(a * b, reference_binary(a, b, [](double x, double y) { return x * y; }), tol, tol));
      EXPECT_TRUE(all_close(a / b, reference_binary(a, b, [](double x, double y) { return x / y; }), tol, tol));
      EXPECT_TRUE(all_close(b + a, reference_binary(b, a, [](double x, double y) { return x + y; }), tol, tol));
      EXPECT_TRUE(all_close(add(a, b, 2.5), reference_binary(a, b, [](double x, double y) { return x + 2.5 * y; }),
                            tol, tol));
    }
  }
}

TEST_P(ElementwiseTest, NonContiguousInputsAndScalars) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor base = random({6, 10}, 3);
  const Tensor a = base.t().slice(0, 1, 10, 2);  // (5, 6), strides (20, 10)
  const Tensor b = random({5, 6}, 4);
  EXPECT_FALSE(a.is_contiguous());
  EXPECT_TRUE(all_close(a * b, reference_binary(a.contiguous(), b, [](double x, double y) { return x * y; }), 1e-6,
                        1e-6));
  EXPECT_TRUE(all_close(a + 1.5, reference_binary(a, full({}, 1.5), [](double x, double y) { return x + y; }), 1e-6,
                        1e-6));
  EXPECT_TRUE(all_close(2.0 / b, reference_binary(full({}, 2.0), b, [](double x, double y) { return x / y; }), 1e-6,
                        1e-6));
  EXPECT_EQ((a * 2.0).dtype(), kFloat32);  // a scalar never widens a float tensor
}

// A number operand travels as a kernel parameter: the results are those of
// the tensor form bit for bit, on strided, 0-d and empty tensors, and integer
// tensors keep the exact integer form.
TEST_P(ElementwiseTest, NumberOperandsMatchTheTensorFormExactly) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor strided = random({6, 10}, 5).t().slice(0, 1, 10, 3);
  for (const Tensor& a : {random({7, 3}, 6), strided, random({}, 7, kFloat64), random({0, 4}, 8),
                          random({5}, 9, kFloat64)}) {
    for (const double b : {0.5, -3.0, 1e-3}) {
      const Tensor b_tensor = scalar_operand(b, a);
      EXPECT_TRUE(all_close(a + b, add(a, b_tensor), 0, 0));
      EXPECT_TRUE(all_close(a - b, sub(a, b_tensor), 0, 0));
      EXPECT_TRUE(all_close(a * b, mul(a, b_tensor), 0, 0));
      EXPECT_TRUE(all_close(a / b, div(a, b_tensor), 0, 0));
      EXPECT_TRUE(all_close(b * a, mul(b_tensor, a), 0, 0));
      EXPECT_TRUE(all_close(b + a, add(b_tensor, a), 0, 0));
      EXPECT_EQ((a * b).dtype(), a.dtype());
      EXPECT_EQ((a * b).shape(), a.shape());
    }
  }
  const Tensor counts = from_vector<std::int64_t>({(std::int64_t{1} << 60) + 1, 2}, {2}).to(GetParam());
  EXPECT_EQ((counts + std::int64_t{2}).to(Device::cpu()).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{(std::int64_t{1} << 60) + 3, 4}));
  EXPECT_EQ((counts * 0.5).dtype(), kFloat32);  // a fractional number makes an integer tensor float32
}

// Dense operands take the vector path on CUDA (16 bytes per load) with the
// last n % width elements one by one; an operand that starts one element
// into its buffer is not 16-byte aligned and takes the strided path. Both
// give the CPU's results: exactly for + and *, within a few ulp for exp.
TEST_P(ElementwiseTest, DenseAndMisalignedOperandsMatchTheCpu) {
  REDES_REQUIRE_DEVICE(GetParam());
  std::uint64_t seed = 300;
  for (const std::int64_t n : {1, 3, 4, 5, 1001, 4099}) {
    for (const DType dtype : {kFloat32, kFloat64}) {
      for (const std::int64_t offset : {0, 1}) {
        SCOPED_TRACE(std::to_string(n) + " " + dtype_name(dtype) + " offset " + std::to_string(offset));
        const Tensor a_host = testing::random_tensor({n + 1}, seed++, {dtype}).slice(0, offset, offset + n);
        const Tensor b_host = testing::random_tensor({n + 1}, seed++, {dtype}).slice(0, offset, offset + n);
        const Tensor a = a_host.to(GetParam()), b = b_host.to(GetParam());
        EXPECT_TRUE(all_close(a + b, a_host + b_host, 0, 0));
        EXPECT_TRUE(all_close(a * b, a_host * b_host, 0, 0));
        EXPECT_TRUE(all_close(a * 3.0, a_host * 3.0, 0, 0));
        EXPECT_TRUE(all_close(a.exp(), a_host.exp(), 0, 1e-6));
        EXPECT_TRUE(all_close(a.abs(), a_host.abs(), 0, 0));
        Tensor in_place = a.clone();
        in_place.add_(b);
        EXPECT_TRUE(all_close(in_place, a_host + b_host, 0, 0));
      }
    }
  }
  const Tensor integers = arange(1003, {kInt64, GetParam()});
  EXPECT_TRUE(all_close(integers + integers, (arange(1003, {kInt64}) * 2), 0, 0));
}

TEST_P(ElementwiseTest, TypePromotion) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor i = arange(4, {kInt64, GetParam()});
  const Tensor f = ones({4}, {kFloat32, GetParam()});
  EXPECT_EQ((i + f).dtype(), kFloat32);
  EXPECT_EQ((i + i).dtype(), kInt64);
  EXPECT_TRUE(all_close(i * 3.0, {0, 3, 6, 9}, 0, 0));
  EXPECT_EQ((i * 3.0).dtype(), kFloat32);  // a floating number makes an integer tensor float, as in PyTorch
  EXPECT_EQ((i * 3).dtype(), kInt64);      // an integral one keeps its dtype
  EXPECT_EQ((i * 0.5).dtype(), kFloat32);
  EXPECT_TRUE(all_close(i * 0.5, {0, 0.5, 1, 1.5}, 0, 0));
}

TEST_P(ElementwiseTest, UnaryOpsMatchReference) {
  REDES_REQUIRE_DEVICE(GetParam());
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{13}, Shape{4, 1, 7}}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const Tensor x = random(shape, 20, dtype);
      const Tensor positive = random(shape, 21, dtype, 0.1, 3.0);
      const double tol = dtype == kFloat32 ? 2e-6 : 1e-14;
      std::vector<double> neg_ref, exp_ref, log_ref, relu_ref;
      for (double v : host_values(x)) {
        neg_ref.push_back(-v);
        exp_ref.push_back(std::exp(v));
        relu_ref.push_back(v > 0 ? v : 0);
      }
      for (double v : host_values(positive)) log_ref.push_back(std::log(v));
      EXPECT_TRUE(all_close(-x, neg_ref, 0, 0));
      EXPECT_TRUE(all_close(exp(x), exp_ref, tol, tol));
      EXPECT_TRUE(all_close(log(positive), log_ref, tol, tol));
      EXPECT_TRUE(all_close(relu(x), relu_ref, 0, 0));
    }
  }
  // NaN passes through ReLU (PyTorch keeps it); its gradient there is 0.
  const Tensor with_nan =
      from_vector(std::vector<double>{std::nan(""), -1.0, 2.0}, {3}, {kFloat64, GetParam()}).requires_grad_(true);
  const std::vector<double> activated = host_values(relu(with_nan));
  EXPECT_TRUE(std::isnan(activated[0]));
  EXPECT_EQ(activated[1], 0.0);
  EXPECT_EQ(activated[2], 2.0);
  relu(with_nan).sum().backward();
  EXPECT_TRUE(all_close(with_nan.grad(), {0, 0, 1}, 0, 0));
  const Tensor transposed = random({3, 5}, 22).t();
  std::vector<double> expected;
  for (double v : host_values(transposed)) expected.push_back(std::exp(v));
  EXPECT_TRUE(all_close(exp(transposed), expected, 1e-6, 1e-6));
}

TEST_P(ElementwiseTest, Gradients) {
  REDES_REQUIRE_DEVICE(GetParam());
  const Tensor a = random({3, 4}, 30, kFloat64);
  const Tensor b = random({4}, 31, kFloat64, 0.5, 2.0);
  const Tensor c = random({3, 1}, 32, kFloat64, 0.5, 2.0);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] + in[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return sub(in[0], in[1], 0.5); }, {a, c}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] / in[1]; }, {a, c}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[1] / in[0].t(); }, {random({4, 3}, 33, kFloat64, 0.5, 2), c}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return -in[0]; }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return exp(in[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return log(in[0]); }, {c}));
  // relu is not differentiable at 0; random inputs avoid it almost surely.
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return relu(in[0]); }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 3.0 - 1.0 / in[1]; }, {a, b}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return (in[0] + 0.5) * -2.0 / 3.0 - 1.0; }, {a}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& in) { return 2.5 * in[0].t() + 1.0; }, {a}));
}

REDES_INSTANTIATE_FOR_DEVICES(ElementwiseTest);

}  // namespace
}  // namespace redes

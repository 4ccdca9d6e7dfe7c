// Ops on float16 and bfloat16 tensors on every device, against the float32
// result of the same inputs rounded to the 16-bit type. An op computes in
// float32 and rounds once, so results agree within one unit in the last
// place of the 16-bit type (a float32 ulp of difference in exp or tanh
// between devices can move a rounding by one).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "layers/losses.h"
#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;
using testing::host_values;

class LowPrecisionOpsTest : public ::testing::TestWithParam<testing::LowPrecisionCase> {
 protected:
  Device device() const { return GetParam().device; }
  DType dtype() const { return GetParam().dtype; }
  // The spacing of the 16-bit type relative to a value: 2^-7 for bfloat16's
  // 8 significant bits, 2^-10 for float16's 11.
  double ulp() const { return dtype() == kBFloat16 ? 0x1p-7 : 0x1p-10; }

  // Random values already representable in the 16-bit type, on the device.
  Tensor random(const Shape& shape, std::uint64_t seed, double low = -2, double high = 2) const {
    return testing::random_tensor(shape, seed, {kFloat32, device()}, low, high).to(dtype());
  }

  // f on the 16-bit inputs, against f on their float32 values (on the CPU)
  // rounded to the 16-bit type.
  void expect_matches_float32(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                              const std::vector<Tensor>& inputs, double ulps = 1) const {
    std::vector<Tensor> wide;
    for (const Tensor& input : inputs) wide.push_back(input.to(Device::cpu()).to(kFloat32));
    const Tensor actual = f(inputs);
    ASSERT_EQ(actual.dtype(), dtype());
    ASSERT_EQ(actual.device(), device());
    const Tensor expected = f(wide).to(dtype());
    EXPECT_TRUE(all_close(host_values(actual), host_values(expected), 1e-30, ulps * ulp()));
  }
};

TEST_P(LowPrecisionOpsTest, ConversionsMatchTheHostTypes) {
  REDES_REQUIRE_DEVICE(device());
  // Values that round differently: ties, the overflow edge, subnormals, NaN.
  const std::vector<float> values{1.0f,  1.0f + 0x1p-8f, 1.0f + 0x1p-11f, 1.0f + 0x1.8p-11f, 65519.0f, 65520.0f,
                                  1e-7f, -0x1p-25f,      3e38f,           -0.0f,             INFINITY, NAN};
  const Tensor wide = from_vector(values, {static_cast<std::int64_t>(values.size())}, {kFloat32, device()});
  const Tensor narrow = wide.to(dtype());
  ASSERT_EQ(narrow.dtype(), dtype());
  const std::vector<double> got = host_values(narrow);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float expected = dtype() == kBFloat16 ? static_cast<float>(BFloat16(values[i]))
                                                : static_cast<float>(Float16(values[i]));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(got[i])) << i;
    } else {
      EXPECT_EQ(got[i], static_cast<double>(expected)) << i;
      EXPECT_EQ(std::signbit(got[i]), std::signbit(expected)) << i;
    }
  }
  // Back to wider types and integers, and from integers and bool.
  EXPECT_EQ(host_values(narrow.to(kFloat64).slice(0, 0, 2)), host_values(narrow.slice(0, 0, 2)));
  EXPECT_EQ(host_values(from_vector(std::vector<double>{-2.7, 3.5}, {2}, {kFloat32, device()}).to(dtype()).to(kInt64)),
            (std::vector<double>{-2, 3}));
  EXPECT_EQ(host_values(arange(5, {kInt64, device()}).to(dtype())), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(host_values((arange(3, {kInt64, device()}) > 0).to(dtype())), (std::vector<double>{0, 1, 1}));
  // Between the two 16-bit types, through float32.
  const DType other = dtype() == kBFloat16 ? kFloat16 : kBFloat16;
  const Tensor small = from_vector(std::vector<float>{0.1f, -3.0f}, {2}, {kFloat32, device()}).to(dtype());
  EXPECT_EQ(host_values(small.to(other)), host_values(small.to(kFloat32).to(other)));
}

// Whole tensors convert as the scalar types do (the CPU's dense conversions
// are vectorised loops): every 16-bit pattern, and the float32 values just
// around each midpoint between neighbours.
TEST_P(LowPrecisionOpsTest, TensorConversionsMatchTheScalarOnes) {
  REDES_REQUIRE_DEVICE(device());
  const auto check = [&]<class T>(T) {
    std::vector<T> patterns;
    std::vector<float> values;
    for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
      patterns.push_back(T::from_bits(static_cast<std::uint16_t>(bits)));
      const float value = static_cast<float>(patterns.back());
      const float next = static_cast<float>(T::from_bits(static_cast<std::uint16_t>(bits + 1)));
      values.push_back(value);
      if (std::isfinite(value) && std::isfinite(next) && (bits & 0x7fff) != 0x7fff) {
        const float midpoint = value + (next - value) / 2;
        values.insert(values.end(), {midpoint, std::nextafter(midpoint, value), std::nextafter(midpoint, next)});
      }
    }
    const auto count = static_cast<std::int64_t>(values.size());
    const std::vector<T> narrowed =
        from_vector(values, {count}, {kFloat32, device()}).to(dtype()).template to_vector<T>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const T expected(values[i]);
      if (std::isnan(values[i])) {
        ASSERT_TRUE(std::isnan(static_cast<float>(narrowed[i]))) << i;
      } else {
        ASSERT_EQ(narrowed[i].bits, expected.bits) << values[i];
      }
    }
    const auto pattern_count = static_cast<std::int64_t>(patterns.size());
    const std::vector<float> widened =
        from_vector(patterns, {pattern_count}, {std::nullopt, device()}).to(kFloat32).template to_vector<float>();
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      const float expected = static_cast<float>(patterns[i]);
      if (std::isnan(expected)) {
        ASSERT_TRUE(std::isnan(widened[i])) << i;
      } else {
        ASSERT_EQ(widened[i], expected) << i;
      }
    }
  };
  if (dtype() == kBFloat16) {
    check(BFloat16{});
  } else {
    check(Float16{});
  }
}

TEST_P(LowPrecisionOpsTest, HostValuesFactoriesAndPrinting) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor filled = full({2, 2}, 0.1, {dtype(), device()});
  const double rounded = dtype() == kBFloat16 ? static_cast<float>(BFloat16(0.1)) : static_cast<float>(Float16(0.1));
  EXPECT_EQ(host_values(filled), std::vector<double>(4, rounded));
  EXPECT_NE(rounded, static_cast<double>(0.1f));
  const std::vector<BFloat16> brain{BFloat16(1.5f), BFloat16(-0.25f)};
  const Tensor from_brain = from_vector(brain, {2}, {std::nullopt, device()});
  EXPECT_EQ(from_brain.dtype(), kBFloat16);
  EXPECT_EQ(from_brain.to_vector<BFloat16>()[1].bits, BFloat16(-0.25f).bits);
  const std::vector<Float16> half{Float16(2.0f)};
  EXPECT_EQ(from_vector(half, {1}).dtype(), kFloat16);
  const std::string text = ones({2}, {dtype(), device()}).str();
  EXPECT_NE(text.find(std::string("dtype=") + dtype_name(dtype())), std::string::npos) << text;
  EXPECT_NE(text.find("1.0000"), std::string::npos) << text;
  EXPECT_THROW(ones({2}, {dtype()}).to_vector<float>(), Error);
}

TEST_P(LowPrecisionOpsTest, UnaryOpsMatchFloat32) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({3, 37}, 1);
  const Tensor positive = random({40}, 2, 0.01, 8);
  expect_matches_float32([](const auto& in) { return neg(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return relu(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return exp(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return sigmoid(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return tanh(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return log(in[0]); }, {positive});
  expect_matches_float32([](const auto& in) { return sqrt(in[0]); }, {positive});
  // A non-contiguous view.
  expect_matches_float32([](const auto& in) { return exp(in[0].t()); }, {random({5, 9}, 3)});
}

TEST_P(LowPrecisionOpsTest, BinaryOpsMatchFloat32WithBroadcasting) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor a = random({4, 1, 33}, 4), b = random({5, 33}, 5), c = random({1}, 6, 0.5, 2);
  expect_matches_float32([](const auto& in) { return in[0] + in[1]; }, {a, b});
  expect_matches_float32([](const auto& in) { return in[0] - in[1]; }, {a, b});
  expect_matches_float32([](const auto& in) { return in[0] * in[1]; }, {a, b});
  expect_matches_float32([](const auto& in) { return in[0] / in[1]; }, {a, c});
  expect_matches_float32([](const auto& in) { return maximum(in[0], in[1]); }, {a, b});
  expect_matches_float32([](const auto& in) { return add(in[0], in[1], 0.3); }, {a, b});
  // Dense operands of one shape (the CPU widens them a block at a time), longer than a block.
  const Tensor d = random({3, 301}, 36), e = random({3, 301}, 37);
  expect_matches_float32([](const auto& in) { return add(in[0], in[1], 0.3); }, {d, e});
  expect_matches_float32([](const auto& in) { return in[0] / in[1]; }, {d, e.abs() + 0.5});
  expect_matches_float32([](const auto& in) { return maximum(in[0], in[1]); }, {d, e});
  expect_matches_float32([](const auto& in) { return relu(in[0]); }, {d});
  // Numbers enter in float32, not rounded to 16 bits first.
  expect_matches_float32([](const auto& in) { return in[0] * 0.1; }, {a});
  expect_matches_float32([](const auto& in) { return in[0] + 1e-3; }, {a});
  // Broadcast operands in place.
  expect_matches_float32(
      [](const auto& in) {
        Tensor out = in[0].clone();
        out.add_(in[1]);
        return out;
      },
      {b, c});
}

TEST_P(LowPrecisionOpsTest, ComparisonsAndWhere) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor a = random({6, 7}, 7), b = random({7}, 8);
  const Tensor wide_a = a.to(kFloat32), wide_b = b.to(kFloat32);
  EXPECT_EQ(host_values(a > b), host_values(wide_a > wide_b));
  EXPECT_EQ(host_values(a == a), std::vector<double>(42, 1.0));
  EXPECT_EQ(host_values(where(a > b, a, b)), host_values(where(wide_a > wide_b, wide_a, wide_b)));
}

TEST_P(LowPrecisionOpsTest, SumsAccumulateInFloat) {
  REDES_REQUIRE_DEVICE(device());
  // 4096 ones: adding in the 16-bit type would stop at 256 for bfloat16
  // (256 + 1 rounds back to 256) and at 2048 for float16.
  EXPECT_EQ(sum(ones({4096}, {dtype(), device()})).item(), 4096.0);
  EXPECT_EQ(mean(ones({64, 64}, {dtype(), device()})).item(), 1.0);
  const Tensor x = random({37, 129}, 9);
  expect_matches_float32([](const auto& in) { return sum(in[0]); }, {x});
  expect_matches_float32([](const auto& in) { return sum(in[0], {0}); }, {x});
  expect_matches_float32([](const auto& in) { return sum(in[0], {1}, true); }, {x});
  expect_matches_float32([](const auto& in) { return mean(in[0].t(), {0}); }, {x});
}

TEST_P(LowPrecisionOpsTest, SoftmaxSumsInDouble) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({5, 300}, 32, -8, 8);
  expect_matches_float32([](const auto& in) { return softmax(in[0], 1); }, {x});
  expect_matches_float32([](const auto& in) { return log_softmax(in[0], 1); }, {x});
  expect_matches_float32([](const auto& in) { return softmax(in[0], 0); }, {x});
}

TEST_P(LowPrecisionOpsTest, MaxAndArgmax) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({9, 301}, 10);
  expect_matches_float32([](const auto& in) { return max(in[0]); }, {x}, 0);
  expect_matches_float32([](const auto& in) { return max(in[0], 1).values; }, {x}, 0);
  EXPECT_EQ(host_values(argmax(x, 1)), host_values(argmax(x.to(kFloat32), 1)));
  EXPECT_EQ(host_values(argmax(x, 0)), host_values(argmax(x.to(kFloat32), 0)));
}

TEST_P(LowPrecisionOpsTest, MatrixProductsSumInFloat) {
  REDES_REQUIRE_DEVICE(device());
  expect_matches_float32([](const auto& in) { return matmul(in[0], in[1]); }, {random({7, 33}, 13), random({33, 5}, 14)});
  // Batched, a transposed operand, a broadcast one, batch 1.
  expect_matches_float32([](const auto& in) { return matmul(in[0], in[1].transpose(1, 2)); },
                         {random({3, 4, 17}, 15), random({3, 6, 17}, 16)});
  expect_matches_float32([](const auto& in) { return matmul(in[0], in[1]); }, {random({2, 5, 9}, 17), random({9, 3}, 18)});
  expect_matches_float32([](const auto& in) { return matmul(in[0], in[1]); }, {random({1, 1, 64}, 19), random({64, 1}, 20)});
  expect_matches_float32([](const auto& in) { return addmm(in[0], in[1], in[2]); },
                         {random({6}, 21), random({4, 11}, 22), random({11, 6}, 23)});
  // 512 products of ones: 512 exactly, which 16-bit sums could not reach by
  // adding ones one at a time in bfloat16 (they stop at 256).
  const Tensor row = ones({1, 512}, {dtype(), device()}), column = ones({512, 1}, {dtype(), device()});
  EXPECT_EQ(matmul(row, column).item(), 512.0);
}

TEST_P(LowPrecisionOpsTest, ConvolutionMatchesFloat32) {
  REDES_REQUIRE_DEVICE(device());
  expect_matches_float32([](const auto& in) { return conv2d(in[0], in[1], in[2], {.padding = {1, 1}}); },
                         {random({2, 3, 9, 7}, 24), random({4, 3, 3, 3}, 25), random({4}, 26)});
  expect_matches_float32([](const auto& in) { return conv2d(in[0], in[1], Tensor(), {.stride = {2, 2}}); },
                         {random({1, 2, 8, 8}, 27), random({3, 2, 2, 2}, 28)});
  // Gradients of both operands for one output gradient (representable in
  // 16 bits), through the backward kernels.
  const auto gradients = [](const Tensor& input, const Tensor& weight, const Tensor& grad_output) {
    const Tensor x = input.detach().requires_grad_(true), w = weight.detach().requires_grad_(true);
    conv2d(x, w, Tensor(), {.padding = {1, 1}}).backward(grad_output);
    return std::vector<Tensor>{x.grad(), w.grad()};
  };
  const Tensor input = random({2, 3, 6, 5}, 29), weight = random({2, 3, 3, 3}, 30);
  const Tensor grad_output = random({2, 2, 6, 5}, 31);
  const std::vector<Tensor> narrow = gradients(input, weight, grad_output);
  const std::vector<Tensor> wide = gradients(input.to(kFloat32), weight.to(kFloat32), grad_output.to(kFloat32));
  for (std::size_t i = 0; i < narrow.size(); ++i) {
    ASSERT_EQ(narrow[i].dtype(), dtype());
    EXPECT_TRUE(all_close(host_values(narrow[i]), host_values(wide[i].to(dtype())), 1e-6, ulp())) << i;
  }
}

TEST_P(LowPrecisionOpsTest, PoolingMatchesFloat32) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({2, 3, 9, 8}, 33);
  expect_matches_float32([](const auto& in) { return max_pool2d(in[0], {2, 2}); }, {x}, 0);
  expect_matches_float32([](const auto& in) { return max_pool2d(in[0], {3, 3}, {.stride = Size2d{2, 2}}); }, {x}, 0);
  expect_matches_float32([](const auto& in) { return avg_pool2d(in[0], {2, 3}); }, {x});
  // Backward: each gradient routed (max) or spread (average) from one output gradient.
  const Tensor grad_output = random({2, 3, 4, 4}, 34);
  for (const bool average : {false, true}) {
    const auto input_gradient = [&](const Tensor& input, const Tensor& g) {
      const Tensor leaf = input.detach().requires_grad_(true);
      (average ? avg_pool2d(leaf, {2, 2}) : max_pool2d(leaf, {2, 2})).backward(g);
      return leaf.grad();
    };
    const Tensor narrow = input_gradient(x, grad_output);
    ASSERT_EQ(narrow.dtype(), dtype());
    const Tensor wide = input_gradient(x.to(kFloat32), grad_output.to(kFloat32)).to(dtype());
    EXPECT_TRUE(all_close(host_values(narrow), host_values(wide), 0, ulp())) << average;
  }
}

TEST_P(LowPrecisionOpsTest, DropoutKeepsTheFloat32Mask) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({7, 33}, 35);
  expect_matches_float32(
      [](const auto& in) {
        Generator generator(5);
        return dropout(in[0], 0.3, true, &generator);
      },
      {x}, 0);
}

// A function's results and the gradients of its inputs for one output
// gradient per result, in the 16-bit type, against the same in float32 on
// the CPU rounded to it: results within one unit in the last place (`ulp`),
// gradients also within `gradient_ulps` of the largest gradient (a backward
// that reads 16-bit values its forward saved differs by their rounding).
void expect_gradients_match_float32(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& f,
                                    const std::vector<Tensor>& inputs, const std::vector<Tensor>& grad_outputs,
                                    DType dtype, double ulp, double gradient_ulps = 0) {
  const auto run = [&](DType type, Device device) {
    std::vector<Tensor> leaves;
    for (const Tensor& input : inputs) leaves.push_back(input.to(device).to(type).detach().requires_grad_(true));
    const std::vector<Tensor> results = f(leaves);
    Tensor total;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const Tensor term = (results[i] * grad_outputs[i].to(device).to(type)).sum();
      total = total.defined() ? total + term : term;
    }
    total.backward();
    std::vector<Tensor> out = results;
    for (const Tensor& leaf : leaves) out.push_back(leaf.grad());
    return out;
  };
  const std::vector<Tensor> narrow = run(dtype, inputs[0].device());
  const std::vector<Tensor> wide = run(kFloat32, Device::cpu());
  for (std::size_t i = 0; i < narrow.size(); ++i) {
    ASSERT_EQ(narrow[i].dtype(), dtype) << i;
    const std::vector<double> expected = host_values(wide[i].to(dtype));
    double largest = 0;
    for (double v : expected) largest = std::max(largest, std::abs(v));
    const double atol = i < grad_outputs.size() ? 1e-6 : 1e-6 + gradient_ulps * ulp * largest;
    EXPECT_TRUE(all_close(host_values(narrow[i]), expected, atol, ulp)) << i;
  }
}

TEST_P(LowPrecisionOpsTest, LstmCellComputesInFloat32) {
  REDES_REQUIRE_DEVICE(device());
  // gates (N, 4H), c_prev (N, H): h and c, and the gradients of both inputs
  // (from the activated gates and c the forward saved in 16 bits).
  const auto cell = [](const std::vector<Tensor>& in) {
    const LstmState s = lstm_cell_from_gates(in[0], in[1]);
    return std::vector<Tensor>{s.h, s.c};
  };
  for (const std::int64_t rows : {1, 5}) {
    SCOPED_TRACE(rows);
    expect_gradients_match_float32(cell, {random({rows, 4 * 7}, 36, -3, 3), random({rows, 7}, 37)},
                                   {random({rows, 7}, 38), random({rows, 7}, 39)}, dtype(), ulp(), 4);
  }
}

TEST_P(LowPrecisionOpsTest, CrossEntropySumsInDouble) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor logits = random({6, 301}, 40, -6, 6);
  const Tensor targets =
      from_vector(std::vector<std::int64_t>{0, 300, 7, 150, 299, 1}, {6}, {kInt64, device()});
  expect_gradients_match_float32(
      [&](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{nn::cross_entropy(in[0], targets.to(in[0].device()), nn::Reduction::None)};
      },
      {logits}, {random({6}, 41, 0.5, 2)}, dtype(), ulp());
  // Strided logits (a transposed view), batch 1.
  expect_matches_float32(
      [&](const auto& in) { return nn::cross_entropy(in[0].t(), targets.slice(0, 0, 1).to(in[0].device()), nn::Reduction::None); },
      {random({301, 1}, 42, -6, 6)});
}

TEST_P(LowPrecisionOpsTest, GatherAndScatterAdd) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({5, 7}, 43);
  const Tensor index = from_vector(std::vector<std::int64_t>{4, 0, 0, 3, 1, 2, 4, 4, 1, 0, 2, 3, 3, 0},
                                   {2, 7}, {kInt64, device()});
  expect_matches_float32([&](const auto& in) { return gather(in[0], 0, index.to(in[0].device())); }, {x}, 0);
  // Small integers add exactly in both types, so every collision (several
  // adds into one element, and into both halves of one 32-bit word at once
  // on CUDA) must give the float32 sums.
  std::vector<std::int64_t> slots;
  std::vector<float> addends;
  for (int i = 0; i < 4096; ++i) {
    slots.push_back(i % 6);
    addends.push_back(static_cast<float>(i % 5 - 2));
  }
  const Tensor many = from_vector(slots, {4096}, {kInt64, device()});
  const Tensor small = from_vector(addends, {4096}, {kFloat32, device()}).to(dtype());
  expect_matches_float32(
      [&](const auto& in) { return scatter_add(in[0], 0, many.to(in[0].device()), in[1]); },
      {zeros({6}, {dtype(), device()}), small}, 0);
  expect_matches_float32([&](const auto& in) { return scatter_add(in[0], 1, index.t().contiguous().to(in[0].device()), in[1]); },
                         {random({7, 5}, 44), random({7, 2}, 45)});
}

TEST_P(LowPrecisionOpsTest, GradientsFlowInTheTensorsOwnTypes) {
  REDES_REQUIRE_DEVICE(device());
  const Tensor x = random({5, 3}, 11).requires_grad_(true);
  (x * x).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), dtype());
  EXPECT_TRUE(all_close(host_values(x.grad()), host_values((x.detach() * 2.0).to(kFloat32)), 0, ulp()));

  // A float32 master copy used in 16 bits: the gradient comes back in float32.
  const Tensor master = testing::random_tensor({4}, 12, {kFloat32, device()}).requires_grad_(true);
  (master.to(dtype()) * 3.0).sum().backward();
  EXPECT_EQ(master.grad().dtype(), kFloat32);
  EXPECT_EQ(host_values(master.grad()), std::vector<double>(4, 3.0));
}

INSTANTIATE_TEST_SUITE_P(Devices, LowPrecisionOpsTest, ::testing::ValuesIn(testing::low_precision_cases()),
                         testing::low_precision_case_name);

}  // namespace
}  // namespace redes

// conv2d forward + backward (input, weight and bias gradients) on the layer
// shapes of the reference workloads: W2's LeNet-5 convolutions at batch 64
// and W3's first two convolutions at batch 128. Reports GFLOP/s counting
// 2 * N * K * OH * OW * C/groups * kh * kw per pass, three passes in all.
#include <benchmark/benchmark.h>

#include <cmath>

#include <redes.h>

namespace {

using redes::Tensor;

struct ConvShape {
  std::int64_t n, c, h, w, k, kernel, padding;
};

const ConvShape kShapes[] = {
    {64, 1, 28, 28, 6, 5, 2},     // W2 conv1
    {64, 6, 14, 14, 16, 5, 0},    // W2 conv2
    {128, 3, 32, 32, 32, 3, 1},   // W3 block 1
    {128, 32, 16, 16, 64, 3, 1},  // W3 block 2
};

void conv2d_forward_backward(benchmark::State& state) {
  const ConvShape& s = kShapes[state.range(0)];
  redes::Generator generator(1);
  Tensor input = redes::rand({s.n, s.c, s.h, s.w}, {}, &generator).requires_grad_();
  Tensor weight = redes::rand({s.k, s.c, s.kernel, s.kernel}, {}, &generator).requires_grad_();
  Tensor bias = redes::rand({s.k}, {}, &generator).requires_grad_();
  const redes::Conv2dOptions options{.padding = {s.padding, s.padding}};
  // Correctness first: the bias gradient of sum(conv) is N * OH * OW per channel.
  const Tensor probe = redes::conv2d(input, weight, bias, options);
  probe.sum().backward();
  const double expected = static_cast<double>(s.n * probe.size(2) * probe.size(3));
  if (std::abs(static_cast<double>(bias.grad().to_vector<float>()[0]) - expected) > 1e-3 * expected) {
    state.SkipWithError("conv2d bias gradient is wrong");
    return;
  }
  for (auto _ : state) {
    input.zero_grad();
    weight.zero_grad();
    bias.zero_grad();
    redes::conv2d(input, weight, bias, options).sum().backward();
    benchmark::DoNotOptimize(weight.grad().data_ptr());
  }
  const double flops = 3.0 * 2.0 * static_cast<double>(s.n * s.k * probe.size(2) * probe.size(3) * s.c * s.kernel * s.kernel);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("N" + std::to_string(s.n) + " " + std::to_string(s.c) + "->" + std::to_string(s.k) + " " +
                 std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " on " + std::to_string(s.h) + "x" +
                 std::to_string(s.w));
}

}  // namespace

BENCHMARK(conv2d_forward_backward)
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

// max_pool2d and avg_pool2d, 2x2 stride 2, forward + backward on the CPU at
// the pooling shapes of the reference workloads (W2's LeNet-5 at batch 64,
// W3's two blocks at batch 128), in float32 and bfloat16, through the hand
// kernels and through oneDNN (the `hand` and `vendor` settings). Reports the
// bytes a pass must move (input and output read or written once forward,
// the output gradient read and the input gradient written backward) as
// GB/s, after checking that both settings give the same output and
// gradient.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include <redes.h>

#include "kernels/kernel_settings.h"

namespace {

using redes::Tensor;

struct PoolShape {
  std::int64_t n, c, h, w;
};

const PoolShape kShapes[] = {
    {64, 6, 28, 28},     // W2 after conv1
    {64, 16, 10, 10},    // W2 after conv2
    {128, 32, 32, 32},   // W3 block 1
    {128, 64, 16, 16},   // W3 block 2
};

enum class Kind { Max, Average };

Tensor pool(const Tensor& x, Kind kind) {
  return kind == Kind::Max ? redes::max_pool2d(x, {2, 2}) : redes::avg_pool2d(x, {2, 2});
}

// Output and input gradient of one step for the output gradient `r`.
std::vector<Tensor> step(const Tensor& input, const Tensor& r, Kind kind) {
  Tensor x = input.detach().requires_grad_();
  const Tensor out = pool(x, kind);
  (out * r).sum().backward();
  return {out.detach(), x.grad()};
}

std::vector<double> host_values(const Tensor& t) { return t.to(redes::kFloat64).contiguous().to_vector<double>(); }

void run(benchmark::State& state, Kind kind, redes::DType dtype, redes::KernelImpl impl) {
  const PoolShape& s = kShapes[state.range(0)];
  redes::Generator generator(1);
  const Tensor input = redes::uniform({s.n, s.c, s.h, s.w}, -1, 1, {}, &generator).to(dtype);
  const Tensor r = redes::uniform({s.n, s.c, s.h / 2, s.w / 2}, -1, 1, {}, &generator).to(dtype);
  // Correctness first: this setting against the hand kernels (max exact,
  // averages to a rounding of the type).
  std::vector<Tensor> reference;
  {
    redes::set_kernel_impl(redes::KernelImpl::Hand);
    reference = step(input, r, kind);
  }
  redes::set_kernel_impl(impl);
  const std::vector<Tensor> got = step(input, r, kind);
  const double tolerance = kind == Kind::Max ? 0.0 : dtype == redes::kBFloat16 ? 0x1p-7 : 1e-6;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::vector<double> a = host_values(got[i]), b = host_values(reference[i]);
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (std::abs(a[k] - b[k]) > tolerance * (1 + std::abs(b[k]))) {
        state.SkipWithError(("result " + std::to_string(i) + " differs from the hand kernel's").c_str());
        redes::set_kernel_impl(redes::KernelImpl::Auto);
        return;
      }
    }
  }
  for (auto _ : state) {
    const std::vector<Tensor> results = step(input, r, kind);
    benchmark::DoNotOptimize(results[1].data_ptr());
  }
  redes::set_kernel_impl(redes::KernelImpl::Auto);
  const double element = static_cast<double>(redes::dtype_size(dtype));
  const double in = static_cast<double>(input.numel()), out = static_cast<double>(r.numel());
  state.counters["GB/s"] = benchmark::Counter(2 * (in + out) * element * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("N" + std::to_string(s.n) + " C" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" +
                 std::to_string(s.w));
}

}  // namespace

// max_pool_hand, max_pool_onednn, max_pool_hand_bf16, ..., avg_pool_onednn_bf16.
int main(int argc, char** argv) {
  for (const Kind kind : {Kind::Max, Kind::Average}) {
    for (const redes::DType dtype : {redes::kFloat32, redes::kBFloat16}) {
      for (const redes::KernelImpl impl : {redes::KernelImpl::Hand, redes::KernelImpl::Vendor}) {
        const std::string name = std::string(kind == Kind::Max ? "max_pool" : "avg_pool") +
                                 (impl == redes::KernelImpl::Hand ? "_hand" : "_onednn") +
                                 (dtype == redes::kBFloat16 ? "_bf16" : "");
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { run(state, kind, dtype, impl); })
            ->DenseRange(0, 3)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

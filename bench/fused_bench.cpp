// The fused kernels against the composites they replaced: dropout (Philox
// mask + two multiplies) and cross-entropy (log_softmax + gather-based NLL,
// forward and backward), on the CPU and, when one is present, on a CUDA
// device timed with CUDA events on redes' stream.
//
// GB/s counts the bytes the fused kernel must move (dropout: read x, write
// out; cross-entropy: read the logits twice and write their gradient, plus
// the per-row values), for both variants, so the two rates compare directly:
// the composite's rate is the fraction of that work it achieves.
// Each benchmark checks the fused result against the composite before timing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <redes.h>

namespace {

using redes::Device;
using redes::Tensor;

constexpr std::int64_t kDropoutElements = std::int64_t{16} << 20;  // 64 MiB of float32
constexpr std::int64_t kRows = 4096, kClasses = 1000;               // an ImageNet-sized head

void set_bandwidth(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to(Device::cpu()).contiguous().to_vector<float>();
  const std::vector<float> y = b.to(Device::cpu()).contiguous().to_vector<float>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i] - y[i])));
  return worst;
}

// The dropout the library ran before the fused kernel.
Tensor composite_dropout(const Tensor& x, double p, redes::Generator& generator) {
  const Tensor keep = redes::bernoulli(x.shape(), 1.0 - p, {x.dtype(), x.device()}, &generator);
  return x * (keep * (1.0 / (1.0 - p)));
}

// Times `body` per iteration: host clock on the CPU, CUDA events on redes'
// stream for a CUDA device (so only the device's work is measured).
void time_loop(benchmark::State& state, Device device, const std::function<void()>& body) {
  if (device.is_cuda()) {
    redes::cuda::Event start(device.index, /*enable_timing=*/true), stop(device.index, /*enable_timing=*/true);
    for (auto _ : state) {
      start.record();
      body();
      stop.record();
      state.SetIterationTime(static_cast<double>(start.elapsed_ms(stop)) * 1e-3);
    }
    return;
  }
  for (auto _ : state) {
    const auto begin = std::chrono::steady_clock::now();
    body();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
  }
}

void dropout_bench(benchmark::State& state, Device device, bool fused) {
  redes::Generator data(1);
  const Tensor x = redes::rand({kDropoutElements}, {redes::kFloat32, device}, &data);
  redes::Generator a(7), b(7);
  if (max_abs_difference(redes::dropout(x, 0.3, true, &a), composite_dropout(x, 0.3, b)) != 0) {
    state.SkipWithError("fused dropout differs from the composite");
    return;
  }
  redes::Generator generator(3);
  time_loop(state, device, [&] {
    const Tensor y = fused ? redes::dropout(x, 0.3, true, &generator) : composite_dropout(x, 0.3, generator);
    benchmark::DoNotOptimize(y.data_ptr());
  });
  set_bandwidth(state, 2.0 * 4.0 * static_cast<double>(kDropoutElements));
}

// Loss and logit gradient, fused (nn::cross_entropy) or composite.
Tensor cross_entropy_step(const Tensor& logits, const Tensor& targets, bool fused) {
  Tensor x = logits.detach().requires_grad_();
  const Tensor loss = fused ? redes::nn::cross_entropy(x, targets)
                            : redes::nn::nll_loss(redes::log_softmax(x, 1), targets);
  loss.backward();
  return x.grad();
}

void cross_entropy_bench(benchmark::State& state, Device device, bool fused) {
  redes::Generator data(2);
  const Tensor logits = redes::normal({kRows, kClasses}, 0, 3, {redes::kFloat32, device}, &data);
  // Just under kClasses, so float rounding of the product never reaches it.
  const Tensor targets =
      (redes::rand({kRows}, {redes::kFloat32, device}, &data) * (static_cast<double>(kClasses) - 0.01)).to(redes::kInt64);
  if (max_abs_difference(cross_entropy_step(logits, targets, true), cross_entropy_step(logits, targets, false)) > 1e-7) {
    state.SkipWithError("fused cross-entropy gradient differs from the composite");
    return;
  }
  time_loop(state, device, [&] { benchmark::DoNotOptimize(cross_entropy_step(logits, targets, fused).data_ptr()); });
  const double logits_bytes = 4.0 * static_cast<double>(kRows * kClasses);
  set_bandwidth(state, 3.0 * logits_bytes + (8.0 + 4.0 + 8.0) * static_cast<double>(kRows));
}

void register_for(Device device) {
  const std::string suffix = "/" + device.str();
  for (const bool fused : {true, false}) {
    const std::string variant = fused ? "fused" : "composite";
    benchmark::RegisterBenchmark(("dropout_p0.3_16M/" + variant + suffix).c_str(), dropout_bench, device, fused)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("cross_entropy_fwd_bwd_4096x1000/" + variant + suffix).c_str(),
                                 cross_entropy_bench, device, fused)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_for(Device::cpu());
  if (redes::build_info().cuda_emulated) {
    std::printf("CUDA benchmarks skipped: the CUDA device of this build is emulated on the host\n");
  } else if (redes::cuda::is_available()) {
    register_for(Device::cuda(0));
  } else {
    std::printf("CUDA benchmarks skipped: %s\n", redes::cuda::unavailable_reason().c_str());
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

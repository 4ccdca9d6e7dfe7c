// conv2d forward + backward (input, weight and bias gradients) on the layer
// shapes of the reference workloads: W2's LeNet-5 convolutions at batch 64
// and W3's first two convolutions at batch 128. Reports GFLOP/s counting
// 2 * N * K * OH * OW * C/groups * kh * kw per pass, three passes in all.
// Where a CUDA device exists, conv2d_forward_backward_cuda runs the same
// step on cuda:0 (whichever conv2d implementation redes selects there),
// after comparing its output and three gradients with the CPU's.
// conv2d_forward_backward_bf16 runs the CPU step on bfloat16 tensors;
// conv2d_forward_backward_hand and _onednn force the hand kernels (im2col +
// OpenBLAS) or oneDNN's. Each CPU case also reports its rate as a fraction
// of the machine's float32 GEMM peak, measured once per run as the best of
// five 1024^3 products through redes::matmul (the fastest GEMM the build
// has: oneDNN's where present, else OpenBLAS's).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <redes.h>

#include "cuda_cases.h"
#include "kernels/registry.h"

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

// The float32 GEMM peak of this machine in GFLOP/s (see above), measured once.
double gemm_peak() {
  static const double peak = [] {
    redes::Generator generator(7);
    const Tensor a = redes::rand({1024, 1024}, {}, &generator), b = redes::rand({1024, 1024}, {}, &generator);
    double best = 0;
    for (int i = 0; i < 6; ++i) {
      const auto start = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(redes::matmul(a, b));
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      if (i > 0) best = std::max(best, 2.0 * 1024 * 1024 * 1024 / took.count() * 1e-9);  // the first warms up
    }
    return best;
  }();
  return peak;
}

// GFLOP/s of one forward + backward step (and, on the CPU, its fraction of
// the GEMM peak), and the shape as the label.
void set_flops_and_label(benchmark::State& state, const ConvShape& s, const Tensor& output) {
  const double flops =
      3.0 * 2.0 * static_cast<double>(s.n * s.k * output.size(2) * output.size(3) * s.c * s.kernel * s.kernel);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (output.device().is_cpu()) {
    state.counters["of_gemm_peak"] =
        benchmark::Counter(flops * 1e-9 / gemm_peak(), benchmark::Counter::kIsIterationInvariantRate);
  }
  state.SetLabel("N" + std::to_string(s.n) + " " + std::to_string(s.c) + "->" + std::to_string(s.k) + " " +
                 std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " on " + std::to_string(s.h) + "x" +
                 std::to_string(s.w));
}

// The step on the CPU in `dtype`: float32, or bfloat16 (oneDNN's bfloat16
// convolutions where the CPU has them, else float32 copies).
void forward_backward_in(benchmark::State& state, redes::DType dtype) {
  const ConvShape& s = kShapes[state.range(0)];
  redes::Generator generator(1);
  Tensor input = redes::rand({s.n, s.c, s.h, s.w}, {}, &generator).to(dtype).requires_grad_();
  Tensor weight = redes::rand({s.k, s.c, s.kernel, s.kernel}, {}, &generator).to(dtype).requires_grad_();
  Tensor bias = redes::rand({s.k}, {}, &generator).to(dtype).requires_grad_();
  const redes::Conv2dOptions options{.padding = {s.padding, s.padding}};
  // Correctness first: the bias gradient of sum(conv) is N * OH * OW per
  // channel (a power-of-two multiple of a few bits here: exact in bfloat16).
  const Tensor probe = redes::conv2d(input, weight, bias, options);
  probe.sum().backward();
  const double expected = static_cast<double>(s.n * probe.size(2) * probe.size(3));
  if (std::abs(bias.grad().to(redes::kFloat64).to_vector<double>()[0] - expected) > 1e-3 * expected) {
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
  set_flops_and_label(state, s, probe);
}

void conv2d_forward_backward(benchmark::State& state) { forward_backward_in(state, redes::kFloat32); }

// The float32 step with one CPU implementation forced for its three ops.
void forward_backward_forced(benchmark::State& state, const char* implementation) {
  const char* ops[] = {"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"};
  const auto& candidates = redes::KernelRegistry::instance().candidates(ops[0], redes::DeviceType::CPU,
                                                                        redes::kFloat32);
  if (std::none_of(candidates.begin(), candidates.end(),
                   [&](const redes::KernelEntry* entry) { return entry->name == implementation; })) {
    state.SkipWithError((std::string(implementation) + " is not in this build").c_str());
    return;
  }
  for (const char* op : ops) redes::KernelRegistry::instance().force(op, implementation);
  forward_backward_in(state, redes::kFloat32);
  for (const char* op : ops) redes::KernelRegistry::instance().force(op, "");
}

void conv2d_forward_backward_hand(benchmark::State& state) { forward_backward_forced(state, "cpu.blas"); }
void conv2d_forward_backward_onednn(benchmark::State& state) { forward_backward_forced(state, "onednn"); }
void conv2d_forward_backward_bf16(benchmark::State& state) { forward_backward_in(state, redes::kBFloat16); }

// The values of a tensor on any device, as float64 on the host.
std::vector<double> host_values(const Tensor& tensor) {
  return tensor.detach().to(redes::Device::cpu()).to(redes::kFloat64).contiguous().to_vector<double>();
}

// |got - expected| <= atol + rtol * |expected| everywhere; names the first miss.
bool close(benchmark::State& state, const char* what, const Tensor& got, const Tensor& expected, double atol,
           double rtol) {
  const std::vector<double> x = host_values(got), y = host_values(expected);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) {
      const std::string message = std::string(what) + " on cuda differs from the CPU at [" + std::to_string(i) +
                                  "]: " + std::to_string(x[i]) + " vs " + std::to_string(y[i]);
      state.SkipWithError(message.c_str());
      return false;
    }
  }
  return true;
}

struct ConvInputs {
  Tensor input, weight, bias;
};

ConvInputs conv_inputs(const ConvShape& s, std::uint64_t seed, redes::Device device) {
  redes::Generator generator(seed);
  ConvInputs x{redes::rand({s.n, s.c, s.h, s.w}, {}, &generator),
               redes::rand({s.k, s.c, s.kernel, s.kernel}, {}, &generator), redes::rand({s.k}, {}, &generator)};
  x.input = x.input.to(device).requires_grad_();
  x.weight = x.weight.to(device).requires_grad_();
  x.bias = x.bias.to(device).requires_grad_();
  return x;
}

void conv2d_forward_backward_cuda(benchmark::State& state) {
  const ConvShape& s = kShapes[state.range(0)];
  const redes::Conv2dOptions options{.padding = {s.padding, s.padding}};
  const redes::Device cuda = redes::Device::cuda(0);
  // Correctness first: output and gradients of sum(conv * r) for a random r,
  // on cuda and on the CPU from the same inputs.
  ConvInputs cpu = conv_inputs(s, 1, redes::Device::cpu()), gpu = conv_inputs(s, 1, cuda);
  const Tensor cpu_out = redes::conv2d(cpu.input, cpu.weight, cpu.bias, options);
  redes::Generator generator(2);
  const Tensor r = redes::uniform(cpu_out.shape(), -1, 1, {}, &generator);
  (cpu_out * r).sum().backward();
  const Tensor gpu_out = redes::conv2d(gpu.input, gpu.weight, gpu.bias, options);
  (gpu_out * r.to(cuda)).sum().backward();
  // float32 sums of up to N * OH * OW terms (the weight gradient): a relative
  // tolerance that fits their rounding.
  if (!close(state, "conv2d output", gpu_out, cpu_out, 1e-4, 1e-4) ||
      !close(state, "input gradient", gpu.input.grad(), cpu.input.grad(), 1e-4, 1e-4) ||
      !close(state, "weight gradient", gpu.weight.grad(), cpu.weight.grad(), 1e-2, 1e-3) ||
      !close(state, "bias gradient", gpu.bias.grad(), cpu.bias.grad(), 1e-2, 1e-3)) {
    return;
  }
  // Input copies to cycle through, so that the small shapes do not run from L2.
  std::vector<ConvInputs> copies;
  const double bytes = 4.0 * static_cast<double>(s.n * s.c * s.h * s.w + gpu_out.numel());
  for (int i = 0; i < redes_bench::rotation_copies(bytes); ++i) copies.push_back(conv_inputs(s, 3 + i, cuda));
  redes_bench::time_on_cuda(state, 5, [&](int call) {
    ConvInputs& x = copies[static_cast<std::size_t>(call) % copies.size()];
    x.input.zero_grad();
    x.weight.zero_grad();
    x.bias.zero_grad();
    redes::conv2d(x.input, x.weight, x.bias, options).sum().backward();
  });
  set_flops_and_label(state, s, gpu_out);
}

// Every shape of kShapes, medians of 5 repetitions in milliseconds.
void cpu_cases(benchmark::internal::Benchmark* bench) {
  bench->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true)->UseRealTime();
}

}  // namespace

BENCHMARK(conv2d_forward_backward)->Apply(cpu_cases);
BENCHMARK(conv2d_forward_backward_hand)->Apply(cpu_cases);
BENCHMARK(conv2d_forward_backward_onednn)->Apply(cpu_cases);
BENCHMARK(conv2d_forward_backward_bf16)->Apply(cpu_cases);

int main(int argc, char** argv) {
  return redes_bench::run_benchmarks(argc, argv, [] {
    benchmark::RegisterBenchmark("conv2d_forward_backward_cuda", conv2d_forward_backward_cuda)
        ->DenseRange(0, 3)
        ->Apply(redes_bench::cuda_case_options);
  });
}

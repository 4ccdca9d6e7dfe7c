// Matrix products: redes::matmul next to a direct cblas_sgemm on the same
// input buffers, in GFLOP/s, and redes::matmul on bfloat16 copies. By
// default redes runs oneDNN's float32 matmul from 2^18 multiply-adds and
// OpenBLAS below (kernels/onednn/matmul.cpp); matmul_redes_blas and
// matmul_redes_onednn force one of the two (oneDNN where it serves the
// shape), so the table printed after the runs gives, per shape, each
// implementation's rate, redes' over cblas's (what dispatch, checks and
// output allocation cost, or gain) and each as a fraction of the best
// float32 rate of the run (the machine's measured sgemm peak, by whichever
// library reached it). Each case compares
// the outputs with cblas's before timing.
// Where a CUDA device exists, matmul_redes_cuda times redes::matmul on cuda:0
// (cuBLAS, exact FP32) on the same shapes, output allocation included,
// checked against cblas first; matmul_regtile_cuda and matmul_hand_cuda do
// the same with the register-tiled and the 16 x 16 hand-written kernels
// (kernels/cuda/matmul_tiled.cu) forced in cuBLAS's place.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <redes.h>

#include "cuda_cases.h"
#include "kernels/registry.h"

namespace {

using redes::Tensor;

struct Case {
  int m, k, n;
};

// Square sizes, then the layer shapes of the reference workloads
// (docs/workloads.md): (m x k) @ (k x n).
const Case kCases[] = {
    {256, 256, 256},  {512, 512, 512},   {1024, 1024, 1024},
    {32, 9, 64},      // cars-mlp: first Linear, batch 32
    {32, 64, 64},     // cars-mlp: hidden Linear
    {64, 400, 120},   // fashion-lenet: flatten 400 -> 120, batch 64
    {128, 1024, 512}, // cifar-cnn: flatten 1024 -> 512, batch 128
    {64, 28, 512},    // LSTM with 28 inputs and 128 hidden units: input gates, batch 64
    {128, 128, 512},  // fashion-seq-lstm: hidden-to-gates, batch 128
    {64, 64, 256},    // seattle-lstm: hidden-to-gates, batch 64
};

struct Operands {
  Tensor a, b;
  std::vector<float> c;  // cblas's output
};

Operands make_operands(const benchmark::State& state) {
  const auto m = state.range(0), k = state.range(1), n = state.range(2);
  redes::Generator generator(1);
  return {redes::uniform({m, k}, -1, 1, {}, &generator), redes::uniform({k, n}, -1, 1, {}, &generator),
          std::vector<float>(static_cast<std::size_t>(m * n))};
}

void run_cblas(Operands& x, int m, int k, int n) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x.a.data<float>(), k, x.b.data<float>(), n,
              0.0f, x.c.data(), n);
}

void set_flops(benchmark::State& state) {
  const double flops = 2.0 * static_cast<double>(state.range(0) * state.range(1) * state.range(2));
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void matmul_redes(benchmark::State& state) {
  Operands x = make_operands(state);
  const int m = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  run_cblas(x, m, k, n);
  const std::vector<float> ours = redes::matmul(x.a, x.b).to_vector<float>();
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - static_cast<double>(x.c[i])));
  }
  // Inputs in [-1, 1): float32 rounding over k products stays far below this.
  if (worst > 1e-4 * k) {
    state.SkipWithError(("redes and cblas differ by " + std::to_string(worst)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(redes::matmul(x.a, x.b));
  set_flops(state);
}

// redes::matmul on bfloat16 copies of the operands (oneDNN's bfloat16 matmul
// where the CPU has it, else sgemm on float32 copies), checked against cblas
// within bfloat16's rounding of the inputs and the result.
void matmul_redes_bf16(benchmark::State& state) {
  Operands x = make_operands(state);
  const int m = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  run_cblas(x, m, k, n);
  const Tensor a = x.a.to(redes::kBFloat16), b = x.b.to(redes::kBFloat16);
  const std::vector<float> ours = redes::matmul(a, b).to(redes::kFloat32).to_vector<float>();
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - static_cast<double>(x.c[i])));
    largest = std::max(largest, std::abs(static_cast<double>(x.c[i])));
  }
  // Each input off by up to 2^-9 relative, the result by 2^-9 of itself.
  if (worst > 4e-3 * k + 4e-3 * largest) {
    state.SkipWithError(("redes bfloat16 and cblas differ by " + std::to_string(worst)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(redes::matmul(a, b));
  set_flops(state);
}

void matmul_cblas(benchmark::State& state) {
  Operands x = make_operands(state);
  const int m = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  for (auto _ : state) {
    run_cblas(x, m, k, n);
    benchmark::ClobberMemory();
  }
  set_flops(state);
}

void matmul_redes_cuda(benchmark::State& state) {
  Operands x = make_operands(state);
  const int m = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  run_cblas(x, m, k, n);
  const redes::Device cuda = redes::Device::cuda(0);
  // Copies of the operands to cycle through, so that small ones are not
  // served from L2 on every call; the first copy is checked.
  const double bytes = 4.0 * static_cast<double>(m * k + k * n + m * n);
  std::vector<std::pair<Tensor, Tensor>> copies;
  for (int i = 0; i < redes_bench::rotation_copies(bytes); ++i) copies.emplace_back(x.a.to(cuda), x.b.to(cuda));
  const std::vector<float> ours =
      redes::matmul(copies[0].first, copies[0].second).to(redes::Device::cpu()).to_vector<float>();
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - static_cast<double>(x.c[i])));
  }
  if (worst > 1e-4 * k) {
    state.SkipWithError(("redes on cuda and cblas differ by " + std::to_string(worst)).c_str());
    return;
  }
  redes_bench::time_on_cuda(state, 10, [&](int call) {
    const auto& [a, b] = copies[static_cast<std::size_t>(call) % copies.size()];
    benchmark::DoNotOptimize(redes::matmul(a, b));
  });
  set_flops(state);
}

// matmul_redes with one CPU implementation forced; skipped where it refuses
// the shape (oneDNN below its size).
void matmul_forced_cpu(benchmark::State& state, const char* implementation) {
  const std::int64_t product = state.range(0) * state.range(1) * state.range(2);
  const auto& candidates = redes::KernelRegistry::instance().candidates("matmul", redes::DeviceType::CPU,
                                                                        redes::kFloat32);
  const bool registered = std::any_of(candidates.begin(), candidates.end(),
                                      [&](const redes::KernelEntry* entry) { return entry->name == implementation; });
  if (!registered || (std::string(implementation) == "onednn" && product < (std::int64_t{1} << 18))) {
    state.SkipWithError((std::string(implementation) + " does not serve this shape in this build").c_str());
    return;
  }
  redes::KernelRegistry::instance().force("matmul", implementation);
  matmul_redes(state);
  redes::KernelRegistry::instance().force("matmul", "");
}

void matmul_redes_blas(benchmark::State& state) { matmul_forced_cpu(state, "cpu.blas"); }
void matmul_redes_onednn(benchmark::State& state) { matmul_forced_cpu(state, "onednn"); }

// matmul_redes_cuda with one implementation forced.
void matmul_forced_cuda(benchmark::State& state, const char* implementation) {
  redes::KernelRegistry::instance().force("matmul", implementation);
  matmul_redes_cuda(state);
  redes::KernelRegistry::instance().force("matmul", "");
}

void matmul_hand_cuda(benchmark::State& state) { matmul_forced_cuda(state, "cuda.hand"); }
void matmul_regtile_cuda(benchmark::State& state) { matmul_forced_cuda(state, "cuda.hand.regtile"); }

void shapes(benchmark::internal::Benchmark* bench) {
  bench->ArgNames({"m", "k", "n"});
  for (const Case& c : kCases) bench->Args({c.m, c.k, c.n});
  bench->Repetitions(5)->ReportAggregatesOnly(true);
}

BENCHMARK(matmul_redes)->Apply(shapes);
BENCHMARK(matmul_redes_blas)->Apply(shapes);
BENCHMARK(matmul_redes_onednn)->Apply(shapes);
BENCHMARK(matmul_redes_bf16)->Apply(shapes);
BENCHMARK(matmul_cblas)->Apply(shapes);

// The console table, then the median GFLOP/s of redes over cblas per shape.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const auto counter = run.counters.find("GFLOP/s");
      if (run.aggregate_name != "median" || counter == run.counters.end()) continue;
      medians_[run.run_name.args][run.run_name.function_name] = counter->second.value;
    }
  }

  void print_ratios() const {
    if (medians_.empty()) return;  // a --benchmark_filter left out every matmul
    double peak = 0;  // the best float32 rate of the run
    for (const auto& [args, by_function] : medians_) {
      for (const auto& [function, value] : by_function) {
        if (function != "matmul_redes_bf16") peak = std::max(peak, value);
      }
    }
    const auto rate = [](const std::map<std::string, double>& by_function, const char* name) {
      const auto found = by_function.find(name);
      return found == by_function.end() ? 0.0 : found->second;
    };
    std::printf("\nmedian GFLOP/s (0: not run); of peak: over the best float32 rate of the run, %.1f GFLOP/s\n",
                peak);
    std::printf("%-22s %8s %8s %8s %8s %8s %11s %9s %9s\n", "shape", "redes", "blas", "onednn", "cblas", "bf16",
                "redes/cblas", "blas/peak", "dnnl/peak");
    for (const auto& [args, by_function] : medians_) {
      const double ours = rate(by_function, "matmul_redes"), cblas = rate(by_function, "matmul_cblas");
      if (ours == 0 || cblas == 0) continue;
      const double blas = rate(by_function, "matmul_redes_blas"), onednn = rate(by_function, "matmul_redes_onednn");
      std::printf("%-22s %8.2f %8.2f %8.2f %8.2f %8.2f %11.2f %9.2f %9.2f\n", args.c_str(), ours, blas, onednn, cblas,
                  rate(by_function, "matmul_redes_bf16"), ours / cblas, blas / peak, onednn / peak);
    }
  }

 private:
  std::map<std::string, std::map<std::string, double>> medians_;  // shape -> benchmark -> GFLOP/s
};

}  // namespace

int main(int argc, char** argv) {
  RatioReporter reporter;
  const int status = redes_bench::run_benchmarks(
      argc, argv,
      [] {
        for (const auto& [name, function] : {std::pair{"matmul_redes_cuda", &matmul_redes_cuda},
                                             std::pair{"matmul_regtile_cuda", &matmul_regtile_cuda},
                                             std::pair{"matmul_hand_cuda", &matmul_hand_cuda}}) {
          auto* bench = benchmark::RegisterBenchmark(name, function);
          bench->ArgNames({"m", "k", "n"});
          for (const Case& c : kCases) bench->Args({c.m, c.k, c.n});
          redes_bench::cuda_case_options(bench);
        }
      },
      &reporter);
  reporter.print_ratios();
  return status;
}

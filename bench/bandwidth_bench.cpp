// Memory-bound kernels on 16M floats (64 MiB per tensor, far beyond any
// cache): elementwise add and a full sum, in GB/s of tensor data moved
// (add reads two tensors and writes one; sum reads one), on one thread and on
// every thread redes uses by default, and on cuda:0 where one exists: a dense
// copy (the device's memcpy, the reference for the rest), add in place
// (a.add_(b): the kernel alone), add into a new tensor (a + b: the kernel plus
// allocating and freeing the output) and sum.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include <redes.h>

#include "cuda_cases.h"

namespace {

using redes::Tensor;

constexpr std::int64_t kElements = std::int64_t{16} << 20;

Tensor make_input(std::uint64_t seed) {
  redes::Generator generator(seed);
  return redes::rand({kElements}, {}, &generator);
}

void set_bandwidth(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Runs with state.range(0) threads, restoring the previous count after.
class ThreadCount {
 public:
  explicit ThreadCount(const benchmark::State& state) : previous_(redes::get_num_threads()) {
    redes::set_num_threads(static_cast<int>(state.range(0)));
  }
  ~ThreadCount() { redes::set_num_threads(previous_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int previous_;
};

void add_16m(benchmark::State& state) {
  const ThreadCount threads(state);
  const Tensor a = make_input(1), b = make_input(2);
  {
    const std::vector<float> sum = (a + b).to_vector<float>(), x = a.to_vector<float>(), y = b.to_vector<float>();
    for (std::size_t i = 0; i < sum.size(); ++i) {
      if (sum[i] != x[i] + y[i]) {
        state.SkipWithError("a + b is wrong");
        return;
      }
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_bandwidth(state, static_cast<double>(3 * kElements * sizeof(float)));
}

void sum_16m(benchmark::State& state) {
  const ThreadCount threads(state);
  const Tensor a = make_input(3);
  double expected = 0;
  for (const float value : a.to_vector<float>()) expected += static_cast<double>(value);
  // float32 rounding of the result is the only difference allowed.
  if (std::abs(a.sum().item() - expected) > 1e-6 * std::abs(expected)) {
    state.SkipWithError("sum is wrong");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(a.sum());
  set_bandwidth(state, static_cast<double>(kElements * sizeof(float)));
}

// One thread, then redes's default count when that is more.
void thread_counts(benchmark::internal::Benchmark* bench) {
  bench->ArgName("threads")->Arg(1);
  if (redes::get_num_threads() > 1) bench->Arg(redes::get_num_threads());
  bench->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true)->UseRealTime();
}

BENCHMARK(add_16m)->Apply(thread_counts);
BENCHMARK(sum_16m)->Apply(thread_counts);

const redes::Device kCuda = redes::Device::cuda(0);

// a + b, a.add_(b) and a.sum() on cuda:0 against the same ops on the CPU.
bool cuda_results_match(benchmark::State& state, const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(kCuda), y = b.to(kCuda);
  if ((x + y).to(redes::Device::cpu()).to_vector<float>() != (a + b).to_vector<float>()) {
    state.SkipWithError("a + b on cuda differs from the CPU");
    return false;
  }
  Tensor z = x.clone();
  z.add_(y);
  if (z.to(redes::Device::cpu()).to_vector<float>() != (a + b).to_vector<float>()) {
    state.SkipWithError("a.add_(b) on cuda differs from a + b on the CPU");
    return false;
  }
  const double expected = a.sum().item(), got = x.sum().item();
  if (std::abs(got - expected) > 1e-6 * std::abs(expected)) {
    state.SkipWithError("sum on cuda differs from the CPU");
    return false;
  }
  return true;
}

void add_16m_cuda_inplace(benchmark::State& state) {
  const Tensor a = make_input(1), b = make_input(2);
  if (!cuda_results_match(state, a, b)) return;
  Tensor x = a.to(kCuda);
  const Tensor y = b.to(kCuda);
  redes_bench::time_on_cuda(state, 20, [&](int) { x.add_(y); });
  set_bandwidth(state, static_cast<double>(3 * kElements * sizeof(float)));
}

void add_16m_cuda(benchmark::State& state) {
  const Tensor a = make_input(1), b = make_input(2);
  if (!cuda_results_match(state, a, b)) return;
  const Tensor x = a.to(kCuda), y = b.to(kCuda);
  redes_bench::time_on_cuda(state, 20, [&](int) { benchmark::DoNotOptimize(x + y); });
  set_bandwidth(state, static_cast<double>(3 * kElements * sizeof(float)));
}

// The reference for the others: a dense copy (a device-to-device memcpy,
// kernels/cuda/fill_copy.cu), reading one tensor and writing one.
void copy_16m_cuda(benchmark::State& state) {
  const Tensor a = make_input(5);
  const Tensor x = a.to(kCuda);
  Tensor y = redes::empty({kElements}, {redes::kFloat32, kCuda});
  y.copy_(x);
  if (y.to(redes::Device::cpu()).to_vector<float>() != a.to_vector<float>()) {
    state.SkipWithError("copy on cuda changed the values");
    return;
  }
  redes_bench::time_on_cuda(state, 20, [&](int) { y.copy_(x); });
  set_bandwidth(state, static_cast<double>(2 * kElements * sizeof(float)));
}

void sum_16m_cuda(benchmark::State& state) {
  const Tensor a = make_input(3), b = make_input(4);
  if (!cuda_results_match(state, a, b)) return;
  const Tensor x = a.to(kCuda);
  redes_bench::time_on_cuda(state, 20, [&](int) { benchmark::DoNotOptimize(x.sum()); });
  set_bandwidth(state, static_cast<double>(kElements * sizeof(float)));
}

}  // namespace

int main(int argc, char** argv) {
  return redes_bench::run_benchmarks(argc, argv, [] {
    benchmark::RegisterBenchmark("copy_16m_cuda", copy_16m_cuda)->Apply(redes_bench::cuda_case_options);
    benchmark::RegisterBenchmark("add_16m_cuda_inplace", add_16m_cuda_inplace)->Apply(redes_bench::cuda_case_options);
    benchmark::RegisterBenchmark("add_16m_cuda", add_16m_cuda)->Apply(redes_bench::cuda_case_options);
    benchmark::RegisterBenchmark("sum_16m_cuda", sum_16m_cuda)->Apply(redes_bench::cuda_case_options);
  });
}

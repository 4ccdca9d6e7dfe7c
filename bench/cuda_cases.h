// What the CUDA cases of the benchmarks share.
// - They are registered only where a CUDA device can run them: a machine
//   without one runs the CPU cases and says once, on stderr, why the CUDA
//   cases are missing (with REDES_REQUIRE_CUDA=1 that is an error instead).
// - They are timed with CUDA events on the stream redes queues its work on,
//   after warm-up calls: the time of `calls` calls between two events, divided
//   by `calls` (Google Benchmark's manual time; with Repetitions, the median
//   of the repetitions is the number to read).
// - Inputs that would stay in the L2 cache (50 MB on H100, 60 MB on H200)
//   are rotated: each call reads the next of several copies.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <redes.h>

namespace redes_bench {

inline bool cuda_required() {
  const char* value = std::getenv("REDES_REQUIRE_CUDA");
  return value != nullptr && std::string(value) == "1";
}

// Whether this process runs CUDA cases. Exits with status 1 when none can
// run and REDES_REQUIRE_CUDA=1.
inline bool cuda_cases_enabled() {
  if (!redes::build_info().cuda && !cuda_required()) return false;
  if (redes::build_info().cuda_emulated) {
    std::fprintf(stderr, "CUDA cases left out: the CUDA device of this build is emulated on the host, "
                         "so its timings say nothing about a GPU\n");
    return false;
  }
  if (redes::cuda::is_available()) return true;
  std::fprintf(stderr, "CUDA cases left out: %s\n", redes::cuda::unavailable_reason().c_str());
  if (cuda_required()) {
    std::fprintf(stderr, "REDES_REQUIRE_CUDA=1: a benchmark without its CUDA cases is a failure\n");
    std::exit(1);
  }
  return false;
}

// The main() of a benchmark with CUDA cases: `register_cuda_cases` adds them
// (benchmark::RegisterBenchmark) when a device can run them.
inline int run_benchmarks(int argc, char** argv, const std::function<void()>& register_cuda_cases,
                          benchmark::BenchmarkReporter* reporter = nullptr) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (cuda_cases_enabled()) register_cuda_cases();
  if (reporter != nullptr) {
    benchmark::RunSpecifiedBenchmarks(reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}

// How many copies of inputs of `bytes` each to cycle through so that one
// pass over them (at least 128 MB) cannot stay in L2; 1 when one copy is
// already that large, at most 64.
inline int rotation_copies(double bytes) {
  const double pass = 128.0 * (1 << 20);
  return static_cast<int>(std::clamp(pass / std::max(bytes, 1.0), 1.0, 64.0));
}

// Warm-up (`warmup` calls, then a device synchronisation), then for every
// benchmark iteration `calls` calls of body(i) between two CUDA events, i
// counting calls from 0; the iteration time is the event time over `calls`.
inline void time_on_cuda(benchmark::State& state, int calls, const std::function<void(int)>& body,
                         int warmup = 3) {
  int call = 0;
  for (int i = 0; i < warmup; ++i) body(call++);
  redes::cuda::synchronize();
  redes::cuda::Event start(0, /*enable_timing=*/true), stop(0, /*enable_timing=*/true);
  for (auto _ : state) {
    start.record();
    for (int i = 0; i < calls; ++i) body(call++);
    stop.record();
    state.SetIterationTime(static_cast<double>(start.elapsed_ms(stop)) / 1e3 / calls);
  }
}

// The registration options every CUDA case uses.
inline void cuda_case_options(benchmark::internal::Benchmark* bench) {
  bench->UseManualTime()->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);
}

}  // namespace redes_bench

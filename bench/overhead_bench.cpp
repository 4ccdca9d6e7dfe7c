// Per-op overhead: ops on 4x4 tensors do almost no arithmetic, so their time
// is what redes spends around a kernel (argument checks, output allocation,
// dispatch, autograd recording and the backward pass). Times are medians of
// 5 repetitions, in microseconds.
#include <benchmark/benchmark.h>

#include <cmath>

#include <redes.h>

// Heap allocations per iteration, counted program-wide.
#include "tests/support/heap_counter.h"

namespace {

// Reports the heap allocations per iteration of the timed loop since `start`.
void report_allocations(benchmark::State& state, long start) {
  const long allocations = redes::testing::heap_allocations.load() - start;
  state.counters["allocations"] = benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

using redes::Tensor;

struct Inputs {
  Tensor a, b;
};

Inputs make_inputs(bool requires_grad) {
  redes::Generator generator(1);
  Inputs x{redes::rand({4, 4}, {}, &generator), redes::rand({4, 4}, {}, &generator)};
  if (requires_grad) {
    x.a.requires_grad_();
    x.b.requires_grad_();
  }
  return x;
}

// c = (a + b).sum(); c.backward(): three ops forward (add, sum) and back
// (sum's and add's rules, two gradient accumulations), as in a training step.
void add_sum_backward(benchmark::State& state) {
  Inputs x = make_inputs(true);
  {
    Tensor c = (x.a + x.b).sum();
    c.backward();
    const std::vector<float> grad = x.a.grad().to_vector<float>();
    for (const float g : grad) {
      if (g != 1.0f) {
        state.SkipWithError("d sum(a + b) / da is not 1");
        return;
      }
    }
  }
  const long start = redes::testing::heap_allocations.load();
  for (auto _ : state) {
    x.a.zero_grad();
    x.b.zero_grad();
    Tensor c = (x.a + x.b).sum();
    c.backward();
    benchmark::DoNotOptimize(x.a.grad());
  }
  report_allocations(state, start);
}

// One forward op that records its backward node (inputs require grad).
void add_forward_recorded(benchmark::State& state) {
  Inputs x = make_inputs(true);
  if (!(x.a + x.b).grad_fn()) {
    state.SkipWithError("a + b recorded no backward node");
    return;
  }
  const long start = redes::testing::heap_allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(x.a + x.b);
  report_allocations(state, start);
}

// The same op without autograd: checks, allocation and dispatch only.
void add_forward_no_grad(benchmark::State& state) {
  Inputs x = make_inputs(false);
  if (std::abs((x.a + x.b).sum().item() - (x.a.sum().item() + x.b.sum().item())) > 1e-4) {
    state.SkipWithError("a + b is wrong");
    return;
  }
  const long start = redes::testing::heap_allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(x.a + x.b);
  report_allocations(state, start);
}

BENCHMARK(add_sum_backward)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(add_forward_recorded)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(add_forward_no_grad)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

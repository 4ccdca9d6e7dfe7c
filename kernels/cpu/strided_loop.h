// The CPU's one way to walk N tensors of the same sizes and any strides:
// body(offsets) gets each tensor's element offset, for every element of the
// first tensor's sizes. Dense tensors take a flat loop.
//
// Large walks are split over threads (kernels/cpu/parallel.h), so body calls
// run concurrently on different elements: a body may write only the element
// it is given, and an output must not overlap an input except element for
// element (as in-place ops do).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/cpu/parallel.h"
#include "kernels/tensor_arg.h"

namespace redes::cpu {

template <int N>
using Offsets = std::array<std::int64_t, N>;

// Elements below which an elementwise walk stays on one thread: tens of
// microseconds of work, well above what waking an OpenMP team costs.
inline constexpr std::int64_t kElementwiseGrain = 32768;

// Walks elements [lo, hi) of the row-major order of args[0]'s sizes as runs:
// run(first, step, count) gets, per tensor, the offset of the run's first
// element and the stride to the next; a run ends at the end of a last-dim row
// (or at hi). When every tensor is dense, [lo, hi) is one run of stride 1.
template <int N, class Run>
void for_each_run(const TensorArg* args, std::int64_t lo, std::int64_t hi, Run&& run) {
  if (hi <= lo) return;
  const TensorArg& lead = args[0];
  bool dense = true;
  for (int a = 0; a < N; ++a) dense = dense && has_contiguous_strides(args[a]);
  if (dense) {
    Offsets<N> first, step;
    first.fill(lo);
    step.fill(1);
    run(first, step, hi - lo);
    return;
  }

  // The multi-index of element lo, and its offsets.
  const int last = lead.ndim - 1;
  std::int64_t index[kMaxDims] = {};
  Offsets<N> offsets{}, step;
  std::int64_t rest = lo;
  for (int d = last; d >= 0; --d) {
    index[d] = rest % lead.sizes[d];
    rest /= lead.sizes[d];
    for (int a = 0; a < N; ++a) offsets[a] += index[d] * args[a].strides[d];
  }
  for (int a = 0; a < N; ++a) step[a] = args[a].strides[last];

  // Odometer over all dims but the last; the last dim is the run.
  for (std::int64_t done = lo;;) {
    const std::int64_t count = std::min(lead.sizes[last] - index[last], hi - done);
    run(offsets, step, count);
    done += count;
    if (done == hi) return;
    for (int a = 0; a < N; ++a) offsets[a] -= index[last] * step[a];
    index[last] = 0;
    for (int d = last - 1; d >= 0; --d) {
      if (++index[d] < lead.sizes[d]) {
        for (int a = 0; a < N; ++a) offsets[a] += args[a].strides[d];
        break;
      }
      for (int a = 0; a < N; ++a) offsets[a] -= (lead.sizes[d] - 1) * args[a].strides[d];
      index[d] = 0;
    }
  }
}

// A run whose operands each step by 1 (bit a of Mask set) or stay put (a
// broadcast operand, step 0): with the pattern known at compile time the
// loop vectorises, where a run-time step would need a multiply per operand.
template <int N, unsigned Mask, class Body>
void unit_step_run(const Offsets<N>& first, std::int64_t count, Body& body) {
  for (std::int64_t j = 0; j < count; ++j) {
    Offsets<N> at;
    for (int a = 0; a < N; ++a) at[a] = first[a] + (((Mask >> a) & 1u) != 0 ? j : 0);
    body(at);
  }
}

// Runs the run as unit_step_run when every step is 0 or 1; false otherwise.
template <int N, class Body, unsigned... Masks>
bool try_unit_step_run(const Offsets<N>& first, const Offsets<N>& step, std::int64_t count, Body& body,
                       std::integer_sequence<unsigned, Masks...>) {
  unsigned mask = 0;
  for (int a = 0; a < N; ++a) {
    if (step[a] == 1) {
      mask |= 1u << a;
    } else if (step[a] != 0) {
      return false;
    }
  }
  static_cast<void>(((mask == Masks && (unit_step_run<N, Masks>(first, count, body), true)) || ...));
  return true;
}

template <int N, class Body>
void strided_for_each(const TensorArg* args, Body&& body) {
  const std::int64_t total = args[0].numel();
  bool dense = true;
  for (int a = 0; a < N; ++a) dense = dense && has_contiguous_strides(args[a]);
  parallel_for(0, total, kElementwiseGrain, [&](std::int64_t lo, std::int64_t hi) {
    if (dense) {
      // Every operand at the same offset, stepping by one: the loop the
      // compiler vectorises (cmake/RedesLibrary.cmake sets its cost model).
      for (std::int64_t i = lo; i < hi; ++i) {
        Offsets<N> at;
        at.fill(i);
        body(at);
      }
      return;
    }
    for_each_run<N>(args, lo, hi, [&](const Offsets<N>& first, const Offsets<N>& step, std::int64_t count) {
      // Up to three operands (2^3 loop variants); more take the general loop.
      if constexpr (N <= 3) {
        if (try_unit_step_run<N>(first, step, count, body, std::make_integer_sequence<unsigned, 1u << N>{})) return;
      }
      for (std::int64_t j = 0; j < count; ++j) {
        Offsets<N> at;
        for (int a = 0; a < N; ++a) at[a] = first[a] + j * step[a];
        body(at);
      }
    });
  });
}

}  // namespace redes::cpu

// A matrix product of strided operands on the tiled GEMM core
// (kernels/cuda/tiled_gemm.cuh): the register-tiled matmul kernel, and the
// products inside other hand kernels (the whole-sequence LSTM's input
// projection and gradients). Operands are read through their strides, so a
// transposed or sliced operand needs no copy.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/conv2d_igemm_plan.h"
#include "kernels/cuda/tiled_gemm.cuh"

namespace redes::cuda {

// An operand's element strides: batch, row, column.
struct OperandStrides {
  std::int64_t batch, row, col;
};

// How a result reaches out: written, or added to what is there.
template <class T>
struct PlainStore {
  bool accumulate;
  __device__ void operator()(T& result, T value, std::int64_t) const { result = accumulate ? result + value : value; }
};

// The product of one batch element as a problem of the tiled GEMM core:
// group = batch element - first_batch. A's k (B's n) index is the
// contiguous one when its column stride is 1; the other layouts load along
// m (k). `Store` puts each result into out (given its column: an epilogue
// such as a bias and an activation goes there).
template <class T, bool AKFastest, bool BKFastest, class Store>
struct StridedGemmProblem {
  static constexpr bool a_k_fastest = AKFastest;
  static constexpr bool b_k_fastest = BKFastest;
  T* out;
  const T* a_data;
  const T* b_data;
  OperandStrides as, bs;
  std::int64_t m, n, first_batch;
  int batches;
  Store store_result;
  __device__ int group_count() const { return batches; }
  // A's line is its row (or column when k is the fixed index), B's likewise;
  // the _at functions step along the other index.
  __device__ const T* a_line(int group, int fixed) const {
    return a_data + (first_batch + group) * as.batch + fixed * (AKFastest ? as.col : as.row);
  }
  __device__ T a_at(const T* line, int varying) const { return line[varying * (AKFastest ? as.row : as.col)]; }
  __device__ const T* b_line(int group, int fixed) const {
    return b_data + (first_batch + group) * bs.batch + fixed * (BKFastest ? bs.row : bs.col);
  }
  __device__ T b_at(const T* line, int varying) const { return line[varying * (BKFastest ? bs.col : bs.row)]; }
  __device__ void store(int group, int row, int col, T value) const {
    store_result(out[((first_batch + group) * m + row) * n + col], value, col);
  }
};

// One product shape: out (batch, m, n) contiguous; a (batch, m, k) and
// b (batch, k, n) by their strides. m, n and k must fit in an int.
struct StridedGemm {
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
  bool accumulate = false;  // out += a @ b instead of out = a @ b (with the plain store)
};

// Grid z (batch elements per launch) is at most 65535.
inline constexpr std::int64_t kMaxGemmBatchPerLaunch = 65535;

template <class T, bool AKFastest, bool BKFastest, class Store>
cudaError_t launch_strided_gemm_layout(const StridedGemm& g, T* out, const T* a, OperandStrides as, const T* b,
                                       OperandStrides bs, cudaStream_t stream, const Store& store) {
  using Problem = StridedGemmProblem<T, AKFastest, BKFastest, Store>;
  const IgemmTile tile = choose_tile(g.m, g.n);
  for (std::int64_t first = 0; first < g.batch; first += kMaxGemmBatchPerLaunch) {
    const int batches = static_cast<int>(std::min(g.batch - first, kMaxGemmBatchPerLaunch));
    const Problem problem{out, a, b, as, bs, g.m, g.n, first, batches, store};
    const IgemmPlan plan{.m = g.m, .n = g.n, .k = g.k, .groups = batches, .tile = tile, .k_per_split = g.k};
    const cudaError_t status = launch_tiled_gemm<T>(problem, plan, stream);
    if (status != cudaSuccess) return status;
  }
  return cudaSuccess;
}

// Every result of a @ b through `store` on `stream`; returns the first
// launch's failure, or cudaSuccess. Nothing runs for an empty result; with
// k = 0 every result is stored as 0.
template <class T, class Store>
cudaError_t launch_strided_gemm(const StridedGemm& g, T* out, const T* a, OperandStrides as, const T* b,
                                OperandStrides bs, cudaStream_t stream, const Store& store) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return cudaSuccess;
  const bool a_k_fastest = as.col == 1, b_n_fastest = bs.col == 1;
  if (a_k_fastest && b_n_fastest) return launch_strided_gemm_layout<T, true, false>(g, out, a, as, b, bs, stream, store);
  if (a_k_fastest) return launch_strided_gemm_layout<T, true, true>(g, out, a, as, b, bs, stream, store);
  if (b_n_fastest) return launch_strided_gemm_layout<T, false, false>(g, out, a, as, b, bs, stream, store);
  return launch_strided_gemm_layout<T, false, true>(g, out, a, as, b, bs, stream, store);
}

// out = a @ b (or out += a @ b with g.accumulate).
template <class T>
cudaError_t launch_strided_gemm(const StridedGemm& g, T* out, const T* a, OperandStrides as, const T* b,
                                OperandStrides bs, cudaStream_t stream) {
  return launch_strided_gemm(g, out, a, as, b, bs, stream, PlainStore<T>{g.accumulate});
}

}  // namespace redes::cuda

// The tiled GEMM core of the hand-written CUDA kernels that are matrix
// products underneath: the implicit-GEMM convolutions
// (kernels/cuda/conv2d_igemm.cu) and the register-tiled matmul
// (kernels/cuda/matmul_tiled.cu). A problem says where its operands'
// elements come from and where results go; this file does the tiling.
//
// A block computes a BM x BN tile of C = A B for one group (a convolution
// group, a batch element) over the inner range of one split. The inner
// dimension is walked in steps of BK through shared memory, double-buffered:
// while the threads multiply the tiles of one step out of one buffer, they
// hold the next step's elements in registers and then store them into the
// other buffer, so one barrier per step suffices and global loads overlap the
// arithmetic. Each of the (BM / TM) * (BN / TN) threads keeps a TM x TN tile
// of results in registers.
//
// A Problem provides (all __device__, indices within its group):
//   bool a_k_fastest, b_k_fastest   which index of A (m, k) and B (k, n)
//                                   walks contiguous memory, so that
//                                   neighbouring threads load neighbouring
//                                   addresses
//   T a(int group, int m, int k), T b(int group, int k, int n)
//   void store(int group, int m, int n, T value)
//   int group_count()               blockIdx.z = split * group_count() + group
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/launch.cuh"

namespace redes::cuda {

template <class T, class Problem, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    tiled_gemm_kernel(Problem problem, int m_size, int n_size, int k_size, int k_per_split) {
  constexpr int kThreads = (BM / TM) * (BN / TN);
  constexpr int kALoads = BK * BM / kThreads;  // elements of an A tile per thread
  constexpr int kBLoads = BK * BN / kThreads;
  static_assert(BK * BM % kThreads == 0 && BK * BN % kThreads == 0, "every thread loads the same share of a tile");
  __shared__ T a_tiles[2][BK][BM];
  __shared__ T b_tiles[2][BK][BN];
  const int group = static_cast<int>(blockIdx.z) % problem.group_count();
  const int split = static_cast<int>(blockIdx.z) / problem.group_count();
  const int k_begin = split * k_per_split;
  const int k_end = device_min(k_size, k_begin + k_per_split);
  const int tile_m = static_cast<int>(blockIdx.x) * BM;
  const int tile_n = static_cast<int>(blockIdx.y) * BN;
  const int thread = static_cast<int>(threadIdx.x);
  const int row = thread / (BN / TN) * TM;
  const int col = thread % (BN / TN) * TN;

  // Element e of a tile: its (k, m) or (k, n) place, the contiguous index fastest.
  const auto a_place = [](int e, int& kk, int& mm) {
    kk = Problem::a_k_fastest ? e % BK : e / BM;
    mm = Problem::a_k_fastest ? e / BK : e % BM;
  };
  const auto b_place = [](int e, int& kk, int& nn) {
    kk = Problem::b_k_fastest ? e % BK : e / BN;
    nn = Problem::b_k_fastest ? e / BK : e % BN;
  };
  T a_next[kALoads], b_next[kBLoads];
  // This thread's elements of the step starting at k0, into registers.
  const auto fetch = [&](int k0) {
    for (int l = 0; l < kALoads; ++l) {
      int kk, mm;
      a_place(thread + l * kThreads, kk, mm);
      const int k = k0 + kk, m = tile_m + mm;
      a_next[l] = k < k_end && m < m_size ? problem.a(group, m, k) : T(0);
    }
    for (int l = 0; l < kBLoads; ++l) {
      int kk, nn;
      b_place(thread + l * kThreads, kk, nn);
      const int k = k0 + kk, n = tile_n + nn;
      b_next[l] = k < k_end && n < n_size ? problem.b(group, k, n) : T(0);
    }
  };
  const auto deposit = [&](int buffer) {
    for (int l = 0; l < kALoads; ++l) {
      int kk, mm;
      a_place(thread + l * kThreads, kk, mm);
      a_tiles[buffer][kk][mm] = a_next[l];
    }
    for (int l = 0; l < kBLoads; ++l) {
      int kk, nn;
      b_place(thread + l * kThreads, kk, nn);
      b_tiles[buffer][kk][nn] = b_next[l];
    }
  };

  T acc[TM][TN];
  for (int i = 0; i < TM; ++i) {
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);
  }
  int buffer = 0;
  if (k_begin < k_end) {
    fetch(k_begin);
    deposit(buffer);
  }
  __syncthreads();
  for (int k0 = k_begin; k0 < k_end; k0 += BK) {
    const bool more = k0 + BK < k_end;
    if (more) fetch(k0 + BK);
    for (int kk = 0; kk < BK; ++kk) {
      T a_values[TM], b_values[TN];
      for (int i = 0; i < TM; ++i) a_values[i] = a_tiles[buffer][kk][row + i];
      for (int j = 0; j < TN; ++j) b_values[j] = b_tiles[buffer][kk][col + j];
      for (int i = 0; i < TM; ++i) {
        for (int j = 0; j < TN; ++j) acc[i][j] += a_values[i] * b_values[j];
      }
    }
    // The other buffer was last read before the previous barrier, so it can
    // be overwritten now; the barrier after makes it visible.
    if (more) deposit(buffer ^ 1);
    __syncthreads();
    buffer ^= 1;
  }
  for (int i = 0; i < TM; ++i) {
    for (int j = 0; j < TN; ++j) {
      const int m = tile_m + row + i, n = tile_n + col + j;
      if (m < m_size && n < n_size) problem.store(group, m, n, acc[i][j]);
    }
  }
}

}  // namespace redes::cuda

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
//   a_line(group, fixed), a_at(line, varying)   A's elements: `fixed` is the
//                                   index that stays the same over a thread's
//                                   loads (m, or k when a_k_fastest), so its
//                                   decomposition into tensor coordinates is
//                                   done once in the line; a_at adds the
//                                   other index. b_line / b_at likewise (n,
//                                   or k when b_k_fastest).
//   void store(int group, int m, int n, T value)
//   int group_count()               blockIdx.z = split * group_count() + group
// With the tile shapes used, a thread's m (or n) is the same on every step,
// so an m line is made once per kernel; a k line once per step.
#pragma once

#include <cuda_runtime.h>

#include "kernels/conv2d_igemm_plan.h"
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

  // Load l of this thread takes element e = thread + l * kThreads of a tile,
  // the contiguous index fastest. Since kThreads is a multiple of BM, BN and
  // BK, one index of the element is the same for all of a thread's loads
  // (`fixed`), and the other moves by kThreads / (tile length) per load.
  constexpr bool kAFixedM = !Problem::a_k_fastest, kBFixedN = !Problem::b_k_fastest;
  constexpr int kALength = kAFixedM ? BM : BK, kBLength = kBFixedN ? BN : BK;
  static_assert(kThreads % BM == 0 && kThreads % BN == 0 && kThreads % BK == 0, "a fixed index per thread");
  const int a_fixed = thread % kALength, a_first = thread / kALength;
  const int b_fixed = thread % kBLength, b_first = thread / kBLength;
  constexpr int kAStride = kThreads / kALength, kBStride = kThreads / kBLength;
  // Lines of fixed m or n rows: made once. Out of range, every load is zero
  // (the line is made for index 0 so that it is harmless).
  const int a_row = tile_m + a_fixed, b_col = tile_n + b_fixed;
  const bool a_row_valid = a_row < m_size, b_col_valid = b_col < n_size;
  const auto a_row_line = problem.a_line(group, kAFixedM && a_row_valid ? a_row : 0);
  const auto b_col_line = problem.b_line(group, kBFixedN && b_col_valid ? b_col : 0);

  T a_next[kALoads], b_next[kBLoads];
  // This thread's elements of the step starting at k0, into registers.
  const auto fetch = [&](int k0) {
    if constexpr (kAFixedM) {
      for (int l = 0; l < kALoads; ++l) {
        const int k = k0 + a_first + l * kAStride;
        a_next[l] = a_row_valid && k < k_end ? problem.a_at(a_row_line, k) : T(0);
      }
    } else {
      const int k = k0 + a_fixed;
      const bool valid = k < k_end;
      const auto line = problem.a_line(group, valid ? k : k0);
      for (int l = 0; l < kALoads; ++l) {
        const int m = tile_m + a_first + l * kAStride;
        a_next[l] = valid && m < m_size ? problem.a_at(line, m) : T(0);
      }
    }
    if constexpr (kBFixedN) {
      for (int l = 0; l < kBLoads; ++l) {
        const int k = k0 + b_first + l * kBStride;
        b_next[l] = b_col_valid && k < k_end ? problem.b_at(b_col_line, k) : T(0);
      }
    } else {
      const int k = k0 + b_fixed;
      const bool valid = k < k_end;
      const auto line = problem.b_line(group, valid ? k : k0);
      for (int l = 0; l < kBLoads; ++l) {
        const int n = tile_n + b_first + l * kBStride;
        b_next[l] = valid && n < n_size ? problem.b_at(line, n) : T(0);
      }
    }
  };
  const auto deposit = [&](int buffer) {
    for (int l = 0; l < kALoads; ++l) {
      const int varying = a_first + l * kAStride;
      if constexpr (kAFixedM) {
        a_tiles[buffer][varying][a_fixed] = a_next[l];
      } else {
        a_tiles[buffer][a_fixed][varying] = a_next[l];
      }
    }
    for (int l = 0; l < kBLoads; ++l) {
      const int varying = b_first + l * kBStride;
      if constexpr (kBFixedN) {
        b_tiles[buffer][varying][b_fixed] = b_next[l];
      } else {
        b_tiles[buffer][b_fixed][varying] = b_next[l];
      }
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

template <class T, class Problem, IgemmTile Tile>
cudaError_t launch_tiles(const Problem& problem, const IgemmPlan& plan, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((plan.m + Tile.bm - 1) / Tile.bm),
                  static_cast<unsigned>((plan.n + Tile.bn - 1) / Tile.bn),
                  static_cast<unsigned>(plan.splits * plan.groups));
  return launch(tiled_gemm_kernel<T, Problem, Tile.bm, Tile.bn, kIgemmBK, Tile.tm, Tile.tn>, grid,
                (Tile.bm / Tile.tm) * (Tile.bn / Tile.tn), 0, stream, problem, static_cast<int>(plan.m),
                static_cast<int>(plan.n), static_cast<int>(plan.k), static_cast<int>(plan.k_per_split));
}

// Runs `problem` by `plan` (kernels/conv2d_igemm_plan.h): the plan's tile,
// grid (m tiles, n tiles, splits x groups; the problem's group_count() is
// plan.groups). Returns the launch's status.
template <class T, class Problem>
cudaError_t launch_tiled_gemm(const Problem& problem, const IgemmPlan& plan, cudaStream_t stream) {
  if (plan.tile.bm == kTallTile.bm) return launch_tiles<T, Problem, kTallTile>(problem, plan, stream);
  if (plan.tile.bm == kWideTile.bm) return launch_tiles<T, Problem, kWideTile>(problem, plan, stream);
  return launch_tiles<T, Problem, kSquareTile>(problem, plan, stream);
}

}  // namespace redes::cuda

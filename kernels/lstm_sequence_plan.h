// How the hand-written CUDA whole-sequence LSTM (kernels/cuda/lstm_sequence.cu)
// lays a layer's recurrence out on the device, and the cost that layout
// implies: FLOPs and global-memory bytes of every kernel of a training step.
// The kernel launches by this plan, and cudnn_vs_hand_bench prints its cost
// next to the roofline time, as for the implicit-GEMM convolution.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/conv2d_igemm_plan.h"
#include "kernels/lstm_sequence_params.h"

namespace redes {

// Shared memory every block may use without opting in: the per-sequence
// tiles must fit it, since the registry's check does not know the device.
inline constexpr std::size_t kLstmTileSharedBytes = 48 << 10;
// Threads per block: one per gate row up to this many; more rows loop.
inline constexpr int kLstmMaxThreads = 512;

// A block owns rows_per_block sequences for the whole sequence; W_hh sits in
// its shared memory (weights_in_shared) or is read from global memory each step.
struct LstmRecurrencePlan {
  int rows_per_block = 1;
  bool weights_in_shared = false;
  std::size_t shared_bytes = 0;
  std::int64_t blocks = 0;
  int threads = 0;
};

// Shared memory of the per-sequence tiles: h and c (H each) and the gates
// (4H) in the forward kernel; dh, dc and the gate gradients in the backward.
inline std::size_t lstm_tile_bytes(int rows, std::int64_t hidden, std::size_t element_bytes) {
  return static_cast<std::size_t>(rows) * 6 * static_cast<std::size_t>(hidden) * element_bytes;
}

// Whether the hand kernel serves this hidden size: one sequence's tiles fit.
inline bool lstm_recurrence_fits(std::int64_t hidden, std::size_t element_bytes) {
  return lstm_tile_bytes(1, hidden, element_bytes) <= kLstmTileSharedBytes;
}

// Sequences per block (1, 2, 4 or 8): with W_hh in shared memory, the fewest
// that leave no more blocks than SMs (a step's time is one gate row per
// thread, longer with more sequences, so more blocks are better until they
// queue behind each other); with W_hh read from global memory every step,
// the most, since each block reads all of it once per step whatever its
// sequence count.
inline LstmRecurrencePlan plan_lstm_recurrence(std::int64_t batch, std::int64_t hidden, std::size_t element_bytes,
                                               int multiprocessors, std::size_t shared_limit) {
  const auto largest_fitting = [&](int rows) {
    while (rows > 1 && lstm_tile_bytes(rows, hidden, element_bytes) > kLstmTileSharedBytes) rows /= 2;
    return rows;
  };
  LstmRecurrencePlan plan;
  for (int rows : {1, 2, 4, 8}) {
    plan.rows_per_block = rows;
    if ((batch + rows - 1) / rows <= multiprocessors) break;
  }
  plan.rows_per_block = largest_fitting(plan.rows_per_block);
  const std::size_t weights = static_cast<std::size_t>(4 * hidden * hidden) * element_bytes;
  plan.weights_in_shared = weights + lstm_tile_bytes(plan.rows_per_block, hidden, element_bytes) <= shared_limit;
  if (!plan.weights_in_shared) {
    int rows = 1;  // the power of two that covers the batch, at most 8
    while (rows < 8 && rows < batch) rows *= 2;
    plan.rows_per_block = largest_fitting(rows);
  }
  const std::size_t tiles = lstm_tile_bytes(plan.rows_per_block, hidden, element_bytes);
  plan.shared_bytes = tiles + (plan.weights_in_shared ? weights : 0);
  plan.blocks = (batch + plan.rows_per_block - 1) / plan.rows_per_block;
  plan.threads = static_cast<int>(std::min<std::int64_t>((4 * hidden + 31) / 32 * 32, kLstmMaxThreads));
  return plan;
}

// The cost of the forward kernels of every layer, or of forward and backward
// together: the tiled GEMMs by their tiles (igemm_cost), the recurrences by
// what they read and write per step (W_hh once per block when it sits in
// shared memory, else once per block and step, mostly from L2), the
// transposes, copies and the bias sums by their elements.
inline KernelCost lstm_sequence_cost(const LstmSequenceShape& s, const LstmRecurrencePlan& plan,
                                     double element_bytes, bool with_backward) {
  const double steps = static_cast<double>(s.steps), batch = static_cast<double>(s.batch);
  const double hidden = static_cast<double>(s.hidden_size), gates = 4.0 * hidden;
  const double rows = steps * batch, blocks = static_cast<double>(plan.blocks);
  const double weight_reads = blocks * gates * hidden * (plan.weights_in_shared ? 1.0 : steps);
  KernelCost cost;
  const auto add_gemm = [&](std::int64_t m, std::int64_t n, std::int64_t k) {
    const KernelCost gemm = igemm_cost(IgemmPlan{.m = m, .n = n, .k = k, .tile = choose_tile(m, n), .k_per_split = k},
                                       element_bytes);
    cost.flops += gemm.flops;
    cost.bytes += gemm.bytes;
  };
  const std::int64_t all_rows = s.steps * s.batch, g = 4 * s.hidden_size;
  for (std::int64_t layer = 0; layer < s.layers; ++layer) {
    const std::int64_t in = layer == 0 ? s.input_size : s.hidden_size;
    add_gemm(all_rows, g, in);  // the input projection
    cost.flops += 2.0 * rows * gates * hidden;
    // Transpose of W_hh; the recurrence reads the projection and its
    // weights, writes the activated gates, h and c; the initial and final states.
    cost.bytes += element_bytes * (2.0 * gates * hidden + weight_reads + rows * (gates + gates + 2.0 * hidden) +
                                   4.0 * batch * hidden);
    if (!with_backward) continue;
    cost.flops += 2.0 * rows * gates * hidden;
    // The backward recurrence reads the output gradient, the activated
    // gates, c and the previous c, writes the gate gradients; then the
    // bias sum and the copy of its result.
    cost.bytes += element_bytes * (weight_reads + rows * (hidden + gates + 2.0 * hidden + gates) +
                                   6.0 * batch * hidden + rows * gates + 2.0 * gates);
    add_gemm(g, in, all_rows);                         // dW_ih
    add_gemm(g, s.hidden_size, all_rows);              // dW_hh, from h0 and from h over steps 1..T-1
    add_gemm(all_rows, in, g);                         // dx, or the layer below's output gradient
  }
  cost.bytes += element_bytes * 2.0 * rows * hidden;  // y, copied from the last layer's h
  return cost;
}

}  // namespace redes

// How the implicit-GEMM convolution kernels (kernels/cuda/conv2d_igemm.cu)
// cut a pass into blocks, and the cost that tiling implies: FLOPs and the
// global-memory bytes its tile loads and stores move. The kernels launch by
// this plan, and the benchmarks print its cost next to the roofline time, so
// a reviewer can see what each design should reach before a GPU is at hand.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/params.h"

namespace redes {

enum class ConvPass { Forward, BackwardData, BackwardWeight };

// A block computes bm x bn results, each of its (bm / tm) * (bn / tn)
// threads tm x tn of them, over the inner dimension in steps of kIgemmBK.
struct IgemmTile {
  int bm, bn, tm, tn;
};

inline constexpr int kIgemmBK = 16;
inline constexpr IgemmTile kTallTile{128, 16, 8, 2};
inline constexpr IgemmTile kWideTile{16, 128, 2, 8};
inline constexpr IgemmTile kSquareTile{64, 64, 4, 4};

// Blocks a split-K launch aims for: a few per SM of an H100 (132 SMs).
inline constexpr std::int64_t kIgemmTargetBlocks = 4 * 132;
// A split covers at least this much of the inner dimension.
inline constexpr std::int64_t kIgemmMinSplitLength = 256;

// One pass as a GEMM per group: m x n results over an inner dimension k
// (see the table in kernels/cuda/conv2d_igemm.cu), cut into `splits` parts of
// k_per_split (backward-weight only; 1 elsewhere).
struct IgemmPlan {
  std::int64_t m = 0, n = 0, k = 0, groups = 1;
  IgemmTile tile = kSquareTile;
  std::int64_t splits = 1, k_per_split = 0;
};

// The tile for an m x n result: tall for few result columns, wide for few
// rows, square otherwise.
inline IgemmTile choose_tile(std::int64_t m, std::int64_t n) {
  return n <= 16 ? kTallTile : m <= 16 ? kWideTile : kSquareTile;
}

inline IgemmPlan plan_igemm(const Conv2dGeometry& g, ConvPass pass) {
  IgemmPlan plan;
  const std::int64_t taps = g.window.kernel_height * g.window.kernel_width;
  const std::int64_t group_in = g.in_channels / g.groups, group_out = g.out_channels / g.groups;
  plan.groups = g.groups;
  switch (pass) {
    case ConvPass::Forward:
      plan.m = g.batch * g.out_height * g.out_width, plan.n = group_out, plan.k = group_in * taps;
      break;
    case ConvPass::BackwardData:
      plan.m = g.batch * g.in_height * g.in_width, plan.n = group_in, plan.k = group_out * taps;
      break;
    case ConvPass::BackwardWeight:
      plan.m = group_out, plan.n = group_in * taps, plan.k = g.batch * g.out_height * g.out_width;
      break;
  }
  plan.tile = choose_tile(plan.m, plan.n);
  plan.k_per_split = plan.k;
  if (pass == ConvPass::BackwardWeight && plan.k > 0) {
    // Enough blocks for the device, no split shorter than the minimum, and
    // splits * groups within the grid's z limit.
    const std::int64_t tiles =
        ((plan.m + plan.tile.bm - 1) / plan.tile.bm) * ((plan.n + plan.tile.bn - 1) / plan.tile.bn) * plan.groups;
    const std::int64_t wanted = std::max<std::int64_t>(1, kIgemmTargetBlocks / std::max<std::int64_t>(1, tiles));
    plan.splits = std::clamp<std::int64_t>(std::min(wanted, plan.k / kIgemmMinSplitLength), 1, 65535 / plan.groups);
    plan.k_per_split = (plan.k + plan.splits - 1) / plan.splits;
  }
  return plan;
}

struct KernelCost {
  double flops = 0;
  double bytes = 0;  // global memory read and written
};

// Every block loads, per step of the inner dimension, a kIgemmBK-deep slice of
// its A rows and B columns, and stores its results once per split; the split
// reduction reads every split's results and writes one copy.
inline KernelCost igemm_cost(const IgemmPlan& plan, double element_bytes) {
  const double blocks_m = static_cast<double>((plan.m + plan.tile.bm - 1) / plan.tile.bm);
  const double blocks_n = static_cast<double>((plan.n + plan.tile.bn - 1) / plan.tile.bn);
  const double groups = static_cast<double>(plan.groups);
  const double results = static_cast<double>(plan.m * plan.n) * groups;
  KernelCost cost;
  cost.flops = 2.0 * results * static_cast<double>(plan.k);
  const double loads = blocks_m * blocks_n * groups * static_cast<double>(plan.k) * (plan.tile.bm + plan.tile.bn);
  const double stores = results * static_cast<double>(plan.splits);
  const double reduction = plan.splits > 1 ? results * static_cast<double>(plan.splits + 1) : 0.0;
  cost.bytes = (loads + stores + reduction) * element_bytes;
  return cost;
}

// The time a kernel of this cost takes at best on a device with these peaks.
inline double roofline_seconds(const KernelCost& cost, double peak_flops, double peak_bytes_per_second) {
  return std::max(cost.flops / peak_flops, cost.bytes / peak_bytes_per_second);
}

}  // namespace redes

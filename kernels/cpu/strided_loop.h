// The CPU's one way to walk N tensors of the same sizes and any strides:
// body(offsets) gets each tensor's element offset, in row-major order of the
// first tensor's sizes. Dense tensors take a flat loop.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/tensor_arg.h"

namespace redes::cpu {

inline bool has_contiguous_strides(const TensorArg& arg) {
  std::int64_t expected = 1;
  for (int d = arg.ndim - 1; d >= 0; --d) {
    if (arg.sizes[d] != 1 && arg.strides[d] != expected) return false;
    expected *= arg.sizes[d];
  }
  return true;
}

template <int N, class Body>
void strided_for_each(const TensorArg* args, Body&& body) {
  const TensorArg& lead = args[0];
  const std::int64_t total = lead.numel();
  if (total == 0) return;
  std::array<std::int64_t, N> offsets{};

  bool dense = true;
  for (int a = 0; a < N; ++a) dense = dense && has_contiguous_strides(args[a]);
  if (dense || lead.ndim == 0) {
    for (std::int64_t i = 0; i < total; ++i) {
      offsets.fill(i);
      body(offsets);
    }
    return;
  }

  // Odometer over all dims but the last; the last dim is the inner loop.
  const int last = lead.ndim - 1;
  const std::int64_t inner = lead.sizes[last];
  std::int64_t index[kMaxDims] = {};
  for (std::int64_t done = 0; done < total; done += inner) {
    std::array<std::int64_t, N> row = offsets;
    for (std::int64_t j = 0; j < inner; ++j) {
      body(row);
      for (int a = 0; a < N; ++a) row[a] += args[a].strides[last];
    }
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

}  // namespace redes::cpu

// The scan behind max/min with indices and the softmax row loop, shared by
// the CPU and CUDA kernels.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace redes {

template <class T>
struct ArgBest {
  T value;
  std::int64_t index;
};

// The max (or min) of `length` elements `stride` apart and the first index
// where it occurs. NaN beats every number, so a NaN input is never hidden.
template <class T>
REDES_HD ArgBest<T> arg_best(const T* row, std::int64_t length, std::int64_t stride, bool max) {
  ArgBest<T> best{row[0], 0};
  for (std::int64_t i = 1; i < length; ++i) {
    const T v = row[i * stride];
    if (best.value != best.value) break;  // already NaN
    const bool better = (v != v) || (max ? v > best.value : v < best.value);
    if (better) best = {v, i};
  }
  return best;
}

// A row's largest value and sum(exp(x - peak)), accumulated in double: the
// first steps of softmax_row and of the fused cross-entropy, kept in one
// place so that both round alike.
template <class T>
struct RowExpSum {
  T peak;
  double total;
  double log_total;
};

template <class T>
REDES_HD RowExpSum<T> row_exp_sum(const T* in, std::int64_t in_stride, std::int64_t length) {
  using std::exp;
  using std::log;
  T peak = in[0];
  for (std::int64_t i = 1; i < length; ++i) peak = in[i * in_stride] > peak ? in[i * in_stride] : peak;
  double total = 0;
  for (std::int64_t i = 0; i < length; ++i) total += exp(static_cast<double>(in[i * in_stride] - peak));
  return {peak, total, log(total)};
}

// The softmax (or log-softmax) of one element of a row with these sums.
template <class T>
REDES_HD T softmax_element(T x, const RowExpSum<T>& row, bool log_output) {
  using std::exp;
  const double shifted = static_cast<double>(x - row.peak);
  return static_cast<T>(log_output ? shifted - row.log_total : exp(shifted) / row.total);
}

// Softmax or log-softmax of one row, accumulating in double.
template <class T>
REDES_HD void softmax_row(T* out, std::int64_t out_stride, const T* in, std::int64_t in_stride, std::int64_t length,
                          bool log_output) {
  const RowExpSum<T> row = row_exp_sum(in, in_stride, length);
  for (std::int64_t i = 0; i < length; ++i) out[i * out_stride] = softmax_element(in[i * in_stride], row, log_output);
}

}  // namespace redes

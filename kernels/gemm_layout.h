// How a GEMM library can read one (rows x cols) matrix with the given strides:
// row-major (unit column stride, rows at least `cols` apart) or column-major
// (the transpose of a row-major matrix). Anything else — a stride-0 broadcast
// dim, rows closer than a row's length, no unit stride — needs a contiguous
// copy first. Used by the matmul front-end to decide on that copy and by every
// backend to pick transpose flags and leading dimensions, so they agree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace redes {

struct GemmOperandLayout {
  bool transposed;       // false: row-major; true: column-major
  std::int64_t leading;  // the leading dimension in row-major BLAS terms
};

inline std::optional<GemmOperandLayout> gemm_layout(std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                                    std::int64_t col_stride) {
  // A dim of size 1 is never stepped over, so its stride does not matter.
  const bool unit_cols = col_stride == 1 || cols == 1;
  const bool unit_rows = row_stride == 1 || rows == 1;
  if (unit_cols && (rows == 1 || row_stride >= cols)) {
    return GemmOperandLayout{false, rows == 1 ? std::max<std::int64_t>(cols, 1) : std::max<std::int64_t>(row_stride, 1)};
  }
  if (unit_rows && (cols == 1 || col_stride >= rows)) {
    return GemmOperandLayout{true, cols == 1 ? std::max<std::int64_t>(rows, 1) : std::max<std::int64_t>(col_stride, 1)};
  }
  return std::nullopt;
}

}  // namespace redes

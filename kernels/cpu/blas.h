// Row-major GEMM through OpenBLAS for the CPU kernels that call it directly
// (convolution, the LSTM sequence), float or double by template.
#pragma once

#include <cblas.h>

#include <climits>
#include <cstdint>
#include <type_traits>

#include "core/error.h"

namespace redes::cpu {

// cblas takes int sizes.
inline int blas_int(std::int64_t value, const char* op) {
  REDES_CHECK(value <= INT_MAX, op, ": a GEMM dimension of ", value, " exceeds the BLAS limit of ", INT_MAX);
  return static_cast<int>(value);
}

// Row-major C (m x n) = A (m x k, op_a) @ B (k x n, op_b) + beta * C.
template <class T>
void gemm(CBLAS_TRANSPOSE op_a, CBLAS_TRANSPOSE op_b, int m, int n, int k, const T* a, int lda, const T* b, int ldb,
          T beta, T* c, int ldc) {
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, op_a, op_b, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, op_a, op_b, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace redes::cpu

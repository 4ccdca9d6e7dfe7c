// The emulated cuBLAS: GEMM by the reference BLAS definition, column-major,
// queued on the handle's stream. See cublas_v2.h for what is checked.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cuda_emulation/emulated_runtime.h"
#include "core/low_precision.h"
#include "core/cuda_emulation/status_names.h"

struct cublasContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace redes::cuda_emulation {
namespace {

// op(X) of a column-major matrix stored with leading dimension ld.
template <class T>
struct ColumnMajor {
  const T* data;
  cublasOperation_t op;
  int ld;
  T at(int row, int col) const {
    return op == CUBLAS_OP_N ? data[row + static_cast<std::int64_t>(col) * ld]
                             : data[col + static_cast<std::int64_t>(row) * ld];
  }
};

// The bytes a (rows x cols) column-major matrix with leading dimension ld spans.
std::size_t footprint(int rows, int cols, int ld, std::size_t element) {
  if (rows == 0 || cols == 0) return 0;
  return (static_cast<std::size_t>(ld) * static_cast<std::size_t>(cols - 1) + static_cast<std::size_t>(rows)) *
         element;
}

bool in_device_memory(const void* ptr, std::size_t bytes, const char* name, int batch) {
  if (bytes == 0) return true;
  const std::optional<Allocation> found = find_allocation(ptr, bytes);
  if (found && found->kind == MemoryKind::Device) return true;
  report(std::string("cuBLAS GEMM: matrix ") + name + " of batch element " + std::to_string(batch) +
         " does not lie in device memory (" + std::to_string(bytes) + " bytes from its pointer)");
  return false;
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// C_i = alpha op(A_i) op(B_i) + beta C_i for i < batch, summed in Acc. C is
// not read when beta is 0, as BLAS defines it, so C may hold garbage (or
// NaN) then.
template <class T, class Acc = T>
cublasStatus_t gemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                    const Acc* alpha_ptr, const T* a, int lda, long long stride_a, const T* b, int ldb,
                    long long stride_b, const Acc* beta_ptr, T* c, int ldc, long long stride_c, int batch) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 || k < 0 || batch < 0 || alpha_ptr == nullptr ||
      beta_ptr == nullptr) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const int a_rows = transa == CUBLAS_OP_N ? m : k, a_cols = transa == CUBLAS_OP_N ? k : m;
  const int b_rows = transb == CUBLAS_OP_N ? k : n, b_cols = transb == CUBLAS_OP_N ? n : k;
  if (lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  const bool reads_ab = k != 0;
  for (int i = 0; i < batch; ++i) {
    if ((reads_ab && !in_device_memory(a + i * stride_a, footprint(a_rows, a_cols, lda, sizeof(T)), "A", i)) ||
        (reads_ab && !in_device_memory(b + i * stride_b, footprint(b_rows, b_cols, ldb, sizeof(T)), "B", i)) ||
        !in_device_memory(c + i * stride_c, footprint(m, n, ldc, sizeof(T)), "C", i)) {
      return CUBLAS_STATUS_INVALID_VALUE;
    }
  }
  CUstream_st* stream = resolve_stream(handle->stream);
  if (stream == nullptr) return CUBLAS_STATUS_EXECUTION_FAILED;
  // Host pointer mode: alpha and beta are read at the call.
  const Acc alpha = *alpha_ptr, beta = *beta_ptr;
  const cudaError_t queued = enqueue(*stream, [=] {
    // op(A) copied to a contiguous column-major (m x k) block, so the inner
    // loop runs down columns; each element still sums over l in order.
    std::vector<Acc> a_columns(static_cast<std::size_t>(m) * static_cast<std::size_t>(k));
    std::vector<Acc> sums(static_cast<std::size_t>(m));
    for (int i = 0; i < batch; ++i) {
      const ColumnMajor<T> op_a{a + i * stride_a, transa, lda};
      const ColumnMajor<T> op_b{b + i * stride_b, transb, ldb};
      T* c_i = c + i * stride_c;
      for (int l = 0; l < k; ++l) {
        for (int row = 0; row < m; ++row) {
          a_columns[static_cast<std::size_t>(l) * m + row] = static_cast<Acc>(op_a.at(row, l));
        }
      }
      for (int col = 0; col < n; ++col) {
        std::fill(sums.begin(), sums.end(), Acc(0));
        for (int l = 0; l < k; ++l) {
          const Acc b_lc = static_cast<Acc>(op_b.at(l, col));
          const Acc* a_column = a_columns.data() + static_cast<std::size_t>(l) * m;
          for (int row = 0; row < m; ++row) sums[static_cast<std::size_t>(row)] += a_column[row] * b_lc;
        }
        T* c_column = c_i + static_cast<std::int64_t>(col) * ldc;
        for (int row = 0; row < m; ++row) {
          const Acc sum = sums[static_cast<std::size_t>(row)];
          const Acc value = beta == Acc(0) ? alpha * sum : alpha * sum + beta * static_cast<Acc>(c_column[row]);
          c_column[row] = static_cast<T>(value);
        }
      }
    }
  });
  // Refused by a capture (invalidated, or the legacy stream's while a
  // blocking stream captures): the product's kernel did not launch.
  return queued == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

constexpr StatusName<cublasStatus_t> kStatuses[] = {
    {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success"},
    {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {CUBLAS_STATUS_ARCH_MISMATCH, "CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"},
    {CUBLAS_STATUS_MAPPING_ERROR, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {CUBLAS_STATUS_INTERNAL_ERROR, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {CUBLAS_STATUS_NOT_SUPPORTED, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
};

}  // namespace
}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" {

const char* cublasGetStatusName(cublasStatus_t status) { return name_of(kStatuses, status, "CUBLAS_STATUS_UNKNOWN"); }

const char* cublasGetStatusString(cublasStatus_t status) { return text_of(kStatuses, status, "unknown error"); }

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (sticky_error(current_device()) != cudaSuccess) return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext{current_device(), nullptr, CUBLAS_DEFAULT_MATH};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (resolve_stream(stream) == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

// The mode is kept but not emulated: products are exact in every mode (TF32
// rounding is a GPU's to measure).
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* a, int lda, const float* b, int ldb,
                           const float* beta, float* c, int ldc) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

cublasStatus_t cublasDgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const double* alpha, const double* a, int lda, const double* b, int ldb,
                           const double* beta, double* c, int ldc) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* a, int lda,
                                         long long stride_a, const float* b, int ldb, long long stride_b,
                                         const float* beta, float* c, int ldc, long long stride_c, int batch_count) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c,
              batch_count);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const double* alpha, const double* a, int lda,
                                         long long stride_a, const double* b, int ldb, long long stride_b,
                                         const double* beta, double* c, int ldc, long long stride_c,
                                         int batch_count) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c,
              batch_count);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* a, cudaDataType a_type,
                                          int lda, long long stride_a, const void* b, cudaDataType b_type, int ldb,
                                          long long stride_b, const void* beta, void* c, cudaDataType c_type, int ldc,
                                          long long stride_c, int batch_count, cublasComputeType_t compute_type,
                                          cublasGemmAlgo_t) {
  if (a_type != b_type || a_type != c_type || compute_type != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  const auto run = [&]<class T>(T) {
    return gemm<T, float>(handle, transa, transb, m, n, k, static_cast<const float*>(alpha),
                          static_cast<const T*>(a), lda, stride_a, static_cast<const T*>(b), ldb, stride_b,
                          static_cast<const float*>(beta), static_cast<T*>(c), ldc, stride_c, batch_count);
  };
  switch (a_type) {
    case CUDA_R_32F: return run(float{});
    case CUDA_R_16F: return run(redes::Float16{});
    case CUDA_R_16BF: return run(redes::BFloat16{});
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

}  // extern "C"

// Turns CUDA runtime and cuBLAS status codes into redes::Error. Internal:
// only core/cuda/ and kernels/cuda/ include it, so the public headers never
// pull in the CUDA headers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace redes::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* op, const char* call, const char* file,
                                          int line) {
  // The runtime also records the status as its "last error"; clear it so the
  // next launch check does not report this failure a second time. Sticky
  // errors (a kernel that faulted) survive this and keep being reported.
  cudaGetLastError();
  fail(op, ": CUDA error ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ") from ", call, " at ",
       file, ":", line);
}

inline void check_cuda(cudaError_t status, const char* op, const char* call, const char* file, int line) {
  if (status != cudaSuccess) [[unlikely]] {
    throw_cuda_error(status, op, call, file, line);
  }
}

// For destructors and frees, which report failures instead of throwing:
// true on success, or when the runtime is already unloaded at process exit
// (its streams, events and memory went with it); otherwise clears the
// runtime's last error, so the next launch check does not report it again,
// and returns false for the caller to report.
inline bool teardown_succeeded(cudaError_t status) {
  if (status == cudaSuccess || status == cudaErrorCudartUnloading) return true;
  cudaGetLastError();
  return false;
}

inline void check_cublas(cublasStatus_t status, const char* op, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) [[unlikely]] {
    fail(op, ": cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ") from ", call,
         " at ", file, ":", line);
  }
}

}  // namespace redes::detail

// REDES_CUDA_CHECK(cudaMalloc(&ptr, bytes), "cuda allocator") throws a
// redes::Error naming the op, the call, the CUDA error and file:line.
#define REDES_CUDA_CHECK(call, op) ::redes::detail::check_cuda((call), (op), #call, __FILE__, __LINE__)

#define REDES_CUBLAS_CHECK(call, op) ::redes::detail::check_cublas((call), (op), #call, __FILE__, __LINE__)

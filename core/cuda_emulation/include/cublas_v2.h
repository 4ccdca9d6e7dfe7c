// The cuBLAS calls redes makes, for the emulated CUDA build: the same names,
// enumerators and column-major semantics as cuBLAS (transposes, leading
// dimensions, strided batches, alpha and beta read from host memory), each
// product computed by a plain reference loop on the handle's stream
// (core/cuda_emulation/cublas.cpp), summing in float32 for 16-bit matrices. Arguments cuBLAS documents as invalid
// return CUBLAS_STATUS_INVALID_VALUE; so does a matrix that does not lie in
// device memory, which on a GPU would fault.
#pragma once

#include "cuda_runtime.h"

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
};

enum cublasOperation_t {
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
  CUBLAS_OP_C = 2,
};

enum cublasMath_t {
  CUBLAS_DEFAULT_MATH = 0,
  CUBLAS_TENSOR_OP_MATH = 1,
  CUBLAS_PEDANTIC_MATH = 2,
  CUBLAS_TF32_TENSOR_OP_MATH = 3,
};

// library_types.h's element types, those cublasGemmStridedBatchedEx takes here.
typedef enum cudaDataType_t {
  CUDA_R_32F = 0,
  CUDA_R_64F = 1,
  CUDA_R_16F = 2,
  CUDA_R_16BF = 14,
} cudaDataType;

enum cublasComputeType_t {
  CUBLAS_COMPUTE_32F = 68,
};

enum cublasGemmAlgo_t {
  CUBLAS_GEMM_DEFAULT = -1,
};

typedef struct cublasContext* cublasHandle_t;

extern "C" {
REDES_CUDA_EMULATION_API const char* cublasGetStatusName(cublasStatus_t status);
REDES_CUDA_EMULATION_API const char* cublasGetStatusString(cublasStatus_t status);
REDES_CUDA_EMULATION_API cublasStatus_t cublasCreate(cublasHandle_t* handle);
REDES_CUDA_EMULATION_API cublasStatus_t cublasDestroy(cublasHandle_t handle);
REDES_CUDA_EMULATION_API cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
REDES_CUDA_EMULATION_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);

REDES_CUDA_EMULATION_API cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                                                    cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                                    const float* a, int lda, const float* b, int ldb,
                                                    const float* beta, float* c, int ldc);
REDES_CUDA_EMULATION_API cublasStatus_t cublasDgemm(cublasHandle_t handle, cublasOperation_t transa,
                                                    cublasOperation_t transb, int m, int n, int k,
                                                    const double* alpha, const double* a, int lda, const double* b,
                                                    int ldb, const double* beta, double* c, int ldc);
REDES_CUDA_EMULATION_API cublasStatus_t cublasSgemmStridedBatched(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const float* alpha, const float* a, int lda, long long stride_a, const float* b, int ldb, long long stride_b,
    const float* beta, float* c, int ldc, long long stride_c, int batch_count);
REDES_CUDA_EMULATION_API cublasStatus_t cublasDgemmStridedBatched(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const double* alpha, const double* a, int lda, long long stride_a, const double* b, int ldb, long long stride_b,
    const double* beta, double* c, int ldc, long long stride_c, int batch_count);
// A, B and C of one type (float16, bfloat16 or float32), computed in float32
// (CUBLAS_COMPUTE_32F) with float alpha and beta; other combinations return
// CUBLAS_STATUS_NOT_SUPPORTED.
REDES_CUDA_EMULATION_API cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void* alpha,
    const void* a, cudaDataType a_type, int lda, long long stride_a, const void* b, cudaDataType b_type, int ldb,
    long long stride_b, const void* beta, void* c, cudaDataType c_type, int ldc, long long stride_c, int batch_count,
    cublasComputeType_t compute_type, cublasGemmAlgo_t algo);
}

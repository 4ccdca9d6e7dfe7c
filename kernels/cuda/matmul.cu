// Batched matrix product on CUDA devices through cuBLAS, the twin of
// kernels/cpu/matmul.cpp.
//
// cuBLAS is column-major and redes is row-major. A row-major (r x c) matrix
// is, byte for byte, its column-major (c x r) transpose, so the row-major
// product out = a @ b is computed as the column-major out^T = b^T @ a^T:
// cuBLAS gets b first, a second, and the sizes (n, m, k).
//
// Batches: cublas{S,D}gemmStridedBatched (cublasGemmStridedBatchedEx for the
// 16-bit types) runs the whole batch in one call
// when both operands have a nonzero batch stride. The cuBLAS reference
// describes strideA/strideB only as the offset between consecutive matrices
// and does not say that 0 (one operand reused for every batch element) is
// allowed, so a broadcast operand takes one plain gemm per batch element
// instead: correct by the documented contract, slower for large batches.
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/gemm_layout.h"
#include "kernels/kernel_settings.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

int gemm_int(std::int64_t value, const char* what) {
  REDES_CHECK(value <= INT_MAX, "matmul: ", what, " ", value, " exceeds cuBLAS's 32-bit limit");
  return static_cast<int>(value);
}

// An operand as cuBLAS sees it after the transpose trick above: a row-major
// (rows x cols) block with leading stride ld is already the column-major
// transpose cuBLAS wants (N); a column-major one is the matrix itself and
// needs T. The layout rule is kernels/gemm_layout.h, shared with the CPU.
template <class T>
struct GemmOperand {
  const T* data;
  cublasOperation_t op;
  int leading;
  std::int64_t batch_stride;  // elements between batch elements; 0 = broadcast
};

// arg: (batch, rows, cols).
template <class T>
GemmOperand<T> gemm_operand(const TensorArg& arg) {
  const std::optional<GemmOperandLayout> layout = gemm_layout(arg.sizes[1], arg.sizes[2], arg.strides[1], arg.strides[2]);
  REDES_CHECK(layout.has_value(), "matmul: operand strides (", arg.strides[1], ", ", arg.strides[2],
              ") are not a GEMM layout; the front-end should have made it contiguous");
  return {static_cast<const T*>(arg.data), layout->transposed ? CUBLAS_OP_T : CUBLAS_OP_N,
          gemm_int(layout->leading, "leading dimension"), arg.strides[0]};
}

// One cuBLAS handle per device, created on first use with that device
// current, and never destroyed: tensors freed at exit may outlive the CUDA
// runtime, and so would a handle destroyed then.
struct CublasHandles {
  std::mutex mutex;  // held through each call: the stream is per-handle state
  std::vector<cublasHandle_t> by_device;
};

CublasHandles& cublas_handles() {
  static auto* handles = new CublasHandles();
  return *handles;
}

cublasHandle_t handle_for(CublasHandles& handles, const ExecContext& ctx) {
  const auto index = static_cast<std::size_t>(ctx.device.index);
  if (handles.by_device.size() <= index) handles.by_device.resize(index + 1, nullptr);
  cublasHandle_t& handle = handles.by_device[index];
  if (handle == nullptr) {
    REDES_CUBLAS_CHECK(cublasCreate(&handle), MatmulParams::op);
  }
  // Stated on every call rather than assumed: float32 products stay exact FP32
  // (no TF32 tensor cores), so they match the CPU reference up to rounding,
  // unless the program allowed TF32 (set_allow_tf32 / REDES_ALLOW_TF32=1).
  // NVIDIA_TF32_OVERRIDE=1 in the environment still overrides it.
  REDES_CUBLAS_CHECK(cublasSetMathMode(handle, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                     MatmulParams::op);
  REDES_CUBLAS_CHECK(cublasSetStream(handle, cuda::stream_of(ctx)), MatmulParams::op);
  return handle;
}

// `count` products out_i = alpha * a_i @ b_i + beta * out_i, the operands
// `batch_stride` elements apart and out_i `out_stride` apart, in cuBLAS's
// transposed view. The 16-bit types go through cublasGemmStridedBatchedEx
// and sum in float32 (CUBLAS_COMPUTE_32F), as PyTorch's half GEMMs do.
template <class T>
void strided_gemm(cublasHandle_t handle, const GemmOperand<T>& a, const GemmOperand<T>& b, T* out, int m, int n,
                  int k, std::int64_t out_stride, int count, compute_type_t<T> alpha, compute_type_t<T> beta) {
  const int ldc = std::max(n, 1);
  if constexpr (std::is_same_v<T, float>) {
    REDES_CUBLAS_CHECK(cublasSgemmStridedBatched(handle, b.op, a.op, n, m, k, &alpha, b.data, b.leading,
                                                 b.batch_stride, a.data, a.leading, a.batch_stride, &beta, out, ldc,
                                                 out_stride, count),
                       MatmulParams::op);
  } else if constexpr (std::is_same_v<T, double>) {
    REDES_CUBLAS_CHECK(cublasDgemmStridedBatched(handle, b.op, a.op, n, m, k, &alpha, b.data, b.leading,
                                                 b.batch_stride, a.data, a.leading, a.batch_stride, &beta, out, ldc,
                                                 out_stride, count),
                       MatmulParams::op);
  } else {
    constexpr cudaDataType type = std::is_same_v<T, BFloat16> ? CUDA_R_16BF : CUDA_R_16F;
    REDES_CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, b.op, a.op, n, m, k, &alpha, b.data, type, b.leading,
                                                  b.batch_stride, a.data, type, a.leading, a.batch_stride, &beta, out,
                                                  type, ldc, out_stride, count, CUBLAS_COMPUTE_32F,
                                                  CUBLAS_GEMM_DEFAULT),
                       MatmulParams::op);
  }
}

// out (m x n per batch element, contiguous) = alpha * a @ b + beta * out,
// for `batch` elements: one strided-batched call, or one call per element
// when an operand is broadcast (see the top of this file).
template <class T>
void run_gemm(cublasHandle_t handle, const GemmOperand<T>& a, const GemmOperand<T>& b, T* out, int m, int n, int k,
              std::int64_t batch, compute_type_t<T> alpha, compute_type_t<T> beta) {
  const std::int64_t out_stride = static_cast<std::int64_t>(m) * n;
  if (batch > 1 && a.batch_stride != 0 && b.batch_stride != 0) {
    strided_gemm(handle, a, b, out, m, n, k, out_stride, gemm_int(batch, "batch"), alpha, beta);
    return;
  }
  for (std::int64_t i = 0; i < batch; ++i) {
    GemmOperand<T> a_i = a, b_i = b;
    a_i.data += i * a.batch_stride;
    b_i.data += i * b.batch_stride;
    strided_gemm(handle, a_i, b_i, out + i * out_stride, m, n, k, out_stride, 1, alpha, beta);
  }
}

// args: out (batch, m, n) contiguous; a (batch, m, k); b (batch, k, n). a and
// b have a unit stride in one dim of each matrix and any batch stride, 0
// included. out = a @ b, or out += a @ b with `accumulate` (beta = 1).
template <class T>
void matmul_cuda(const MatmulParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  T* out = static_cast<T*>(args[0].data);
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    // An empty sum: out keeps its values when accumulating, else is zero
    // (all-zero bits are 0.0 in IEEE floats).
    if (!p.accumulate) {
      const auto bytes = static_cast<std::size_t>(p.batch * p.m * p.n) * sizeof(T);
      REDES_CUDA_CHECK(cudaMemsetAsync(out, 0, bytes, cuda::stream_of(ctx)), MatmulParams::op);
    }
    return;
  }
  const GemmOperand<T> a = gemm_operand<T>(args[1]);
  const GemmOperand<T> b = gemm_operand<T>(args[2]);
  const int m = gemm_int(p.m, "m"), n = gemm_int(p.n, "n"), k = gemm_int(p.k, "k");

  CublasHandles& handles = cublas_handles();
  std::lock_guard lock(handles.mutex);
  using C = compute_type_t<T>;
  run_gemm(handle_for(handles, ctx), a, b, out, m, n, k, p.batch, C(1), p.accumulate ? C(1) : C(0));
}

}  // namespace

void register_cuda_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<MatmulParams, &matmul_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.cublas"));
  registry.add(make_kernel<MatmulParams, &matmul_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.cublas"));
  registry.add(make_kernel<MatmulParams, &matmul_cuda<Float16>>(DeviceType::CUDA, kFloat16, "cuda.cublas"));
  registry.add(make_kernel<MatmulParams, &matmul_cuda<BFloat16>>(DeviceType::CUDA, kBFloat16, "cuda.cublas"));
}

}  // namespace redes

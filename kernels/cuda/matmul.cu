// 2-D matrix product on CUDA devices through cuBLAS (cublasSgemm /
// cublasDgemm), the twin of kernels/cpu/matmul.cpp.
//
// cuBLAS is column-major and redes is row-major. A row-major (r x c) matrix
// is, byte for byte, its column-major (c x r) transpose, so the row-major
// product out = a @ b is computed as the column-major out^T = b^T @ a^T:
// cuBLAS gets b first, a second, and the sizes (n, m, k).
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// An operand with unit stride in one dim, as cuBLAS sees it after the
// transpose trick above: a row-major (rows x cols) block with leading stride
// ld is already the column-major transpose cuBLAS wants (N); a column-major
// one is the matrix itself and needs T. Same rule as the CPU's blas_operand.
struct GemmOperand {
  cublasOperation_t op;
  std::int64_t leading;
};

GemmOperand gemm_operand(const TensorArg& arg) {
  const std::int64_t rows = arg.sizes[0], cols = arg.sizes[1];
  if (arg.strides[1] == 1 || cols == 1) return {CUBLAS_OP_N, std::max<std::int64_t>({arg.strides[0], cols, 1})};
  return {CUBLAS_OP_T, std::max<std::int64_t>({arg.strides[1], rows, 1})};
}

int gemm_int(std::int64_t value, const char* what) {
  REDES_CHECK(value <= INT_MAX, "matmul: ", what, " ", value, " exceeds cuBLAS's 32-bit limit");
  return static_cast<int>(value);
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
    // Stated rather than assumed: float32 products stay exact FP32 (no TF32
    // tensor cores), so they match the CPU reference up to rounding.
    // NVIDIA_TF32_OVERRIDE=1 in the environment still overrides it.
    REDES_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), MatmulParams::op);
  }
  REDES_CUBLAS_CHECK(cublasSetStream(handle, cuda::stream_of(ctx)), MatmulParams::op);
  return handle;
}

// out: (m, n) contiguous; a: (m, k); b: (k, n); a and b have a unit stride.
template <class T>
void matmul_cuda(const MatmulParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  T* out = static_cast<T*>(args[0].data);
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    // An empty sum: all-zero bits are 0.0 in IEEE floats.
    REDES_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<std::size_t>(p.m * p.n) * sizeof(T), cuda::stream_of(ctx)),
                     MatmulParams::op);
    return;
  }
  const GemmOperand a = gemm_operand(args[1]);
  const GemmOperand b = gemm_operand(args[2]);
  const int m = gemm_int(p.m, "m"), n = gemm_int(p.n, "n"), k = gemm_int(p.k, "k");
  const int lda = gemm_int(a.leading, "leading dimension"), ldb = gemm_int(b.leading, "leading dimension");
  const int ldc = std::max(n, 1);
  const T one = 1, zero = 0;
  const T* a_data = static_cast<const T*>(args[1].data);
  const T* b_data = static_cast<const T*>(args[2].data);

  CublasHandles& handles = cublas_handles();
  std::lock_guard lock(handles.mutex);
  cublasHandle_t handle = handle_for(handles, ctx);
  if constexpr (std::is_same_v<T, float>) {
    REDES_CUBLAS_CHECK(
        cublasSgemm(handle, b.op, a.op, n, m, k, &one, b_data, ldb, a_data, lda, &zero, out, ldc), MatmulParams::op);
  } else {
    REDES_CUBLAS_CHECK(
        cublasDgemm(handle, b.op, a.op, n, m, k, &one, b_data, ldb, a_data, lda, &zero, out, ldc), MatmulParams::op);
  }
}

}  // namespace

void register_cuda_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<MatmulParams, &matmul_cuda<float>>(DeviceType::CUDA, kFloat32, "cuda.cublas"));
  registry.add(make_kernel<MatmulParams, &matmul_cuda<double>>(DeviceType::CUDA, kFloat64, "cuda.cublas"));
}

}  // namespace redes

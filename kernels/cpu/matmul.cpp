// 2-D matrix product on the CPU through OpenBLAS (cblas_sgemm / cblas_dgemm).
#include <cblas.h>

#include <algorithm>
#include <cstdint>

#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// A (rows x cols) operand with unit stride in one dim, as cblas sees it in
// row-major terms: transposed or not, with its leading dimension.
struct BlasOperand {
  CBLAS_TRANSPOSE trans;
  int leading;
};

BlasOperand blas_operand(const TensorArg& arg) {
  const std::int64_t rows = arg.sizes[0], cols = arg.sizes[1];
  if (arg.strides[1] == 1 || cols == 1) {
    return {CblasNoTrans, static_cast<int>(std::max<std::int64_t>({arg.strides[0], cols, 1}))};
  }
  return {CblasTrans, static_cast<int>(std::max<std::int64_t>({arg.strides[1], rows, 1}))};
}

// out: (m, n) contiguous; a: (m, k); b: (k, n); a and b have a unit stride.
template <class T>
void matmul_cpu(const MatmulParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    std::fill(out, out + p.m * p.n, T(0));
    return;
  }
  const BlasOperand a = blas_operand(args[1]);
  const BlasOperand b = blas_operand(args[2]);
  const int m = static_cast<int>(p.m), n = static_cast<int>(p.n), k = static_cast<int>(p.k);
  const int ldc = std::max(n, 1);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, a.trans, b.trans, m, n, k, 1.0f, static_cast<const float*>(args[1].data),
                a.leading, static_cast<const float*>(args[2].data), b.leading, 0.0f, out, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, a.trans, b.trans, m, n, k, 1.0, static_cast<const double*>(args[1].data),
                a.leading, static_cast<const double*>(args[2].data), b.leading, 0.0, out, ldc);
  }
}

}  // namespace

void register_cpu_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<MatmulParams, &matmul_cpu<float>>(DeviceType::CPU, kFloat32, "cpu.blas"));
  registry.add(make_kernel<MatmulParams, &matmul_cpu<double>>(DeviceType::CPU, kFloat64, "cpu.blas"));
}

}  // namespace redes

// Batched matrix product on the CPU through OpenBLAS (cblas_sgemm / cblas_dgemm;
// the 16-bit types through sgemm on float32 copies, kernels/cpu/widened.h).
#include <cblas.h>

#include <algorithm>
#include <cstdint>

#include "core/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/gemm_layout.h"
#include "kernels/params.h"
#include "kernels/cpu/widened.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// One (rows x cols) matrix of a batch as cblas sees it in row-major terms:
// transposed or not, with its leading dimension (rule: kernels/gemm_layout.h).
struct BlasOperand {
  CBLAS_TRANSPOSE trans;
  int leading;
};

// arg: (batch, rows, cols) in a GEMM layout (the front-end ensures it).
BlasOperand blas_operand(const TensorArg& arg) {
  const std::optional<GemmOperandLayout> layout = gemm_layout(arg.sizes[1], arg.sizes[2], arg.strides[1], arg.strides[2]);
  REDES_CHECK(layout.has_value(), "matmul: operand strides (", arg.strides[1], ", ", arg.strides[2],
              ") are not a GEMM layout; the front-end should have made it contiguous");
  return {layout->transposed ? CblasTrans : CblasNoTrans, static_cast<int>(layout->leading)};
}

// out: (batch, m, n) contiguous; a: (batch, m, k); b: (batch, k, n).
template <class T>
void matmul_cpu(const MatmulParams& p, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T* a = static_cast<const T*>(args[1].data);
  const T* b = static_cast<const T*>(args[2].data);
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  if (p.k == 0) {
    if (!p.accumulate) std::fill(out, out + p.batch * p.m * p.n, T(0));
    return;
  }
  const BlasOperand op_a = blas_operand(args[1]);
  const BlasOperand op_b = blas_operand(args[2]);
  const int m = static_cast<int>(p.m), n = static_cast<int>(p.n), k = static_cast<int>(p.k);
  const T beta = p.accumulate ? T(1) : T(0);
  for (std::int64_t i = 0; i < p.batch; ++i) {
    const T* a_i = a + i * args[1].strides[0];
    const T* b_i = b + i * args[2].strides[0];
    T* out_i = out + i * p.m * p.n;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, op_a.trans, op_b.trans, m, n, k, 1.0f, a_i, op_a.leading, b_i, op_b.leading, beta,
                  out_i, n);
    } else {
      cblas_dgemm(CblasRowMajor, op_a.trans, op_b.trans, m, n, k, 1.0, a_i, op_a.leading, b_i, op_b.leading, beta,
                  out_i, n);
    }
  }
}

// args: see LinearParams; the GEMM through OpenBLAS.
template <class T>
void linear_cpu(const LinearParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  cpu::linear_through<T>(p, args, [&](const MatmulParams& product, const TensorArg* product_args) {
    matmul_cpu<T>(product, product_args, 3, ctx);
  });
}

}  // namespace

void register_cpu_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<LinearParams, &linear_cpu<float>>(DeviceType::CPU, kFloat32, "cpu.blas"));
  registry.add(make_kernel<LinearParams, &linear_cpu<double>>(DeviceType::CPU, kFloat64, "cpu.blas"));
  registry.add(make_kernel<MatmulParams, &matmul_cpu<float>>(DeviceType::CPU, kFloat32, "cpu.blas"));
  registry.add(make_kernel<MatmulParams, &matmul_cpu<double>>(DeviceType::CPU, kFloat64, "cpu.blas"));
  // out may be added into (MatmulParams::accumulate): run_widened reads it too.
  registry.add(make_kernel<MatmulParams, &cpu::widened<MatmulParams, &matmul_cpu<float>>>(DeviceType::CPU, kFloat16,
                                                                                         "cpu.blas"));
  registry.add(make_kernel<MatmulParams, &cpu::widened<MatmulParams, &matmul_cpu<float>>>(DeviceType::CPU, kBFloat16,
                                                                                         "cpu.blas"));
}

}  // namespace redes

// Batched float32 and bfloat16 matrix products through oneDNN's matmul
// primitive, and the linear op around it. bfloat16 sums in float32 (on
// AVX512-BF16 or AMX with the CPU's bfloat16 dot-product instructions).
// float32 takes oneDNN for products of at least kMinProduct multiply-adds,
// where its JIT kernels beat OpenBLAS's; below that, and for float64,
// OpenBLAS serves, and float16 takes the float32 copies of
// kernels/cpu/widened.h.
//
// oneDNN reads each operand through its strides, so transposed operands and a
// broadcast batch (stride 0, given to oneDNN as a batch of 1) need no copy;
// `accumulate` (out += a @ b) is a sum post-op.
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

#include "kernels/cpu/linear.h"
#include "kernels/onednn/onednn.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using dnnl::memory;

// Multiply-adds per product (m * n * k) from which oneDNN's float32 matmul
// runs. On the development machine (AVX-512, OpenBLAS 0.3.21 with its
// Haswell kernels) oneDNN took about half OpenBLAS's time on every product
// of the workloads from 64 x 400 x 120 up to 1024^3 and on 32 x 64 x 64
// (131k), lost on 32 x 9 x 64 and 64 x 64 x 9, and its per-call cost (the
// cache key, the argument list) is a microsecond or two.
constexpr std::int64_t kMinProduct = std::int64_t{1} << 18;

memory::data_type data_type_of(DType dtype) {
  return dtype == DType::BFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

// arg: (batch, rows, cols) with any strides; a batch stride of 0 becomes a
// batch of one, which oneDNN broadcasts.
memory::desc operand_desc(const TensorArg& arg) {
  const bool broadcast = arg.strides[0] == 0;
  const memory::dims dims{broadcast ? 1 : arg.sizes[0], arg.sizes[1], arg.sizes[2]};
  const memory::dims strides{broadcast ? arg.sizes[1] * arg.sizes[2] : arg.strides[0], arg.strides[1],
                             arg.strides[2]};
  return {dims, data_type_of(arg.dtype), strides};
}

std::string key_of(const MatmulParams& p, const TensorArg* args) {
  std::string key = std::string("matmul ") + dtype_name(args[0].dtype) + (p.accumulate ? " +=" : " =");
  for (int i = 0; i < 3; ++i) {
    for (int d = 0; d < 3; ++d) key += ' ' + std::to_string(args[i].sizes[d]) + ':' + std::to_string(args[i].strides[d]);
  }
  return key;
}

onednn::Prepared prepare(const MatmulParams& p, const TensorArg* args) {
  const memory::desc dst{{p.batch, p.m, p.n}, data_type_of(args[0].dtype), memory::format_tag::abc};
  const memory::desc src = operand_desc(args[1]), weights = operand_desc(args[2]);
  dnnl::primitive_attr attr = onednn::user_scratchpad();
  if (p.accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), attr, onednn::engine());
  return {dnnl::matmul(pd), pd.scratchpad_desc(),
          {onednn::output(DNNL_ARG_DST, dst, pd.dst_desc()), onednn::input(DNNL_ARG_SRC, src, pd.src_desc()),
           onednn::input(DNNL_ARG_WEIGHTS, weights, pd.weights_desc())}};
}

// args: out (batch, m, n) contiguous; a (batch, m, k); b (batch, k, n).
void matmul_onednn(const MatmulParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(MatmulParams::op, [&] {
    const onednn::Prepared& prepared = onednn::cached(key_of(p, args), [&] { return prepare(p, args); });
    onednn::run(prepared, {args[0].data, args[1].data, args[2].data}, *ctx.workspace);
  });
}

// args: see LinearParams; the GEMM through matmul_onednn.
void linear_onednn(const LinearParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  cpu::linear_through<float>(p, args, [&](const MatmulParams& product, const TensorArg* product_args) {
    matmul_onednn(product, product_args, 3, ctx);
  });
}

// oneDNN refuses empty tensors, and an empty inner dimension would leave out
// unwritten; the other kernels handle both.
bool nonempty(const MatmulParams& p) { return p.batch > 0 && p.m > 0 && p.n > 0 && p.k > 0; }

bool supports_bf16(const void* params, const TensorArg*, int) {
  return onednn::has_bf16() && nonempty(*static_cast<const MatmulParams*>(params));
}

bool supports_float(const void* params, const TensorArg*, int) {
  const auto& p = *static_cast<const MatmulParams*>(params);
  return nonempty(p) && p.m * p.n * p.k >= kMinProduct;
}

// The same rule as the matmul's, so that a linear layer and the addmm it
// stands for run the same GEMM (the fused op equals the composite bit for bit).
bool supports_linear(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const LinearParams*>(params);
  const MatmulParams product{1, p.m, p.n, p.k, p.bias};
  return supports_float(&product, args, nargs);
}

}  // namespace

void register_onednn_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<MatmulParams, &matmul_onednn>(DeviceType::CPU, kBFloat16, "onednn", 1, &supports_bf16));
  registry.add(make_kernel<MatmulParams, &matmul_onednn>(DeviceType::CPU, kFloat32, "onednn", 1, &supports_float));
  registry.add(make_kernel<LinearParams, &linear_onednn>(DeviceType::CPU, kFloat32, "onednn", 1, &supports_linear));
}

}  // namespace redes

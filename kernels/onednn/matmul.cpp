// Batched bfloat16 matrix products through oneDNN's matmul primitive, which
// sums in float32 (on AVX512-BF16 or AMX with the CPU's bfloat16 dot-product
// instructions). float32 stays with OpenBLAS, and float16 with the float32
// copies of kernels/cpu/widened.h.
//
// oneDNN reads each operand through its strides, so transposed operands and a
// broadcast batch (stride 0, given to oneDNN as a batch of 1) need no copy;
// `accumulate` (out += a @ b) is a sum post-op.
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

#include "kernels/onednn/onednn.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using dnnl::memory;

// arg: (batch, rows, cols) with any strides; a batch stride of 0 becomes a
// batch of one, which oneDNN broadcasts.
memory::desc operand_desc(const TensorArg& arg) {
  const bool broadcast = arg.strides[0] == 0;
  const memory::dims dims{broadcast ? 1 : arg.sizes[0], arg.sizes[1], arg.sizes[2]};
  const memory::dims strides{broadcast ? arg.sizes[1] * arg.sizes[2] : arg.strides[0], arg.strides[1],
                             arg.strides[2]};
  return {dims, memory::data_type::bf16, strides};
}

std::string key_of(const MatmulParams& p, const TensorArg* args) {
  std::string key = std::string("matmul bf16 ") + (p.accumulate ? "+=" : "=");
  for (int i = 0; i < 3; ++i) {
    for (int d = 0; d < 3; ++d) key += ' ' + std::to_string(args[i].sizes[d]) + ':' + std::to_string(args[i].strides[d]);
  }
  return key;
}

onednn::Prepared prepare(const MatmulParams& p, const TensorArg* args) {
  const memory::desc dst{{p.batch, p.m, p.n}, memory::data_type::bf16, memory::format_tag::abc};
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
void matmul_bf16(const MatmulParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  onednn::translate_errors(MatmulParams::op, [&] {
    const onednn::Prepared& prepared = onednn::cached(key_of(p, args), [&] { return prepare(p, args); });
    std::vector<void*> data;
    for (int i = 0; i < nargs; ++i) data.push_back(args[i].data);
    onednn::run(prepared, data, *ctx.workspace);
  });
}

// oneDNN refuses empty tensors, and an empty inner dimension would leave out
// unwritten; the float32-copy kernel handles both.
bool supports(const void* params, const TensorArg*, int) {
  const auto& p = *static_cast<const MatmulParams*>(params);
  return onednn::has_bf16() && p.batch > 0 && p.m > 0 && p.n > 0 && p.k > 0;
}

}  // namespace

void register_onednn_matmul(KernelRegistry& registry) {
  registry.add(make_kernel<MatmulParams, &matmul_bf16>(DeviceType::CPU, kBFloat16, "onednn", 1, &supports));
}

}  // namespace redes

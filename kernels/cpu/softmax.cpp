// Softmax and log-softmax along one dim, on the CPU.
#include <cstdint>

#include "kernels/arg_reduce_math.h"
#include "kernels/params.h"
#include "kernels/reduction_split.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out, in: same sizes, any strides.
template <class T>
void softmax_cpu(const SoftmaxParams& params, const TensorArg* args, int, const ExecContext&) {
  T* out = static_cast<T*>(args[0].data);
  const T* in = static_cast<const T*>(args[1].data);
  const TensorArg out_rows = drop_dim(args[0], params.dim);
  const TensorArg in_rows = drop_dim(args[1], params.dim);
  const std::int64_t length = args[1].sizes[params.dim];
  const std::int64_t count = in_rows.numel();
  for (std::int64_t r = 0; r < count; ++r) {
    softmax_row(out + strided_offset(r, out_rows), args[0].strides[params.dim], in + strided_offset(r, in_rows),
                args[1].strides[params.dim], length, params.log);
  }
}

}  // namespace

void register_cpu_softmax(KernelRegistry& registry) {
  registry.add(make_kernel<SoftmaxParams, &softmax_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cpu<Float16>>(DeviceType::CPU, kFloat16, "cpu"));
  registry.add(make_kernel<SoftmaxParams, &softmax_cpu<BFloat16>>(DeviceType::CPU, kBFloat16, "cpu"));
}

}  // namespace redes

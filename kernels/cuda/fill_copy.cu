// fill and copy on CUDA devices, for the same dtypes as kernels/cpu/fill_copy.cpp.
// A copy between dense tensors of one dtype is a device-to-device memcpy;
// the rest runs one thread per element through the strides.
#include <cstdint>
#include <type_traits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// out: any strides, n = out.numel() elements.
template <class T>
__global__ void fill_kernel(TensorArg out, T value, std::int64_t n) {
  T* data = static_cast<T*>(out.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) data[strided_offset(i, out)] = value;
}

// out, in: same sizes, any strides; converts each element with static_cast,
// like the CPU (to bool: nonzero is true). Floats outside an integer type's
// range are undefined in C++ and differ: the GPU saturates, x86 does not.
template <class Out, class In>
__global__ void copy_kernel(TensorArg out, TensorArg in, std::int64_t n) {
  Out* out_data = static_cast<Out*>(out.data);
  const In* in_data = static_cast<const In*>(in.data);
  for (std::int64_t i = cuda::first_index(); i < n; i += cuda::grid_stride()) {
    out_data[strided_offset(i, out)] = static_cast<Out>(in_data[strided_offset(i, in)]);
  }
}

template <class T>
void fill_cuda(const FillParams& params, const TensorArg* args, int, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  // Converted on the host, as the CPU kernel does, so both devices fill the same bits.
  const T value = static_cast<T>(params.value);
  REDES_CUDA_CHECK(
      cuda::launch(fill_kernel<T>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx), args[0], value, n),
      FillParams::op);
}

template <class Out, class In>
void launch_copy(const TensorArg* args, const ExecContext& ctx) {
  const std::int64_t n = args[0].numel();
  if (n == 0) return;
  // Same dtype, both dense: the device's copy engine, at memory bandwidth.
  if (std::is_same_v<Out, In> && has_contiguous_strides(args[0]) && has_contiguous_strides(args[1])) {
    REDES_CUDA_CHECK(cudaMemcpyAsync(args[0].data, args[1].data, static_cast<std::size_t>(n) * sizeof(Out),
                                     cudaMemcpyDeviceToDevice, cuda::stream_of(ctx)),
                     CopyParams::op);
    return;
  }
  REDES_CUDA_CHECK(cuda::launch(copy_kernel<Out, In>, cuda::grid_size(n), cuda::kBlockSize, 0, cuda::stream_of(ctx),
                                args[0], args[1], n),
                   CopyParams::op);
}

// args: out (Out's dtype), in (any dtype), both on ctx.device.
template <class Out>
void copy_cuda(const CopyParams&, const TensorArg* args, int, const ExecContext& ctx) {
  visit_dtype(args[1].dtype, [&]<class In>(In) { launch_copy<Out, In>(args, ctx); });
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<FillParams, &fill_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
  registry.add(make_kernel<CopyParams, &copy_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand"));
}

}  // namespace

void register_cuda_fill_copy(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<std::int64_t>(registry);
  register_for<std::int32_t>(registry);
  register_for<std::uint8_t>(registry);
  register_for<bool>(registry);
  register_for<Float16>(registry);
  register_for<BFloat16>(registry);
}

}  // namespace redes

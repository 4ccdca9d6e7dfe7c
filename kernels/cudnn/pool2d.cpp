// avg_pool2d and values-only max pooling, forward and backward, through
// cuDNN, for float32 and float64.
//
// max_pool2d_with_indices returns PyTorch's argmax indices (and its backward
// scatters through them), which cuDNN's max pooling neither produces nor
// consumes; cuDNN serves max_pool2d_values instead, which max_pool2d (values
// only) runs under the cudnn setting: its backward reads the forward's input
// and output. Max pooling uses CUDNN_POOLING_MAX_DETERMINISTIC and only
// unpadded windows, where cuDNN's and PyTorch's windows are the same taps.
// adaptive_avg_pool2d has windows of varying size, which cuDNN's
// fixed-window pooling does not express.
//
// cuDNN has no ceil_mode: it is registered only for calls whose output size
// is the floor formula's, where every window lies inside the padded input and
// cuDNN's divisors (kernel area with padding, or the taps inside the input
// without) are exactly PyTorch's.
#include <cudnn.h>

#include "kernels/cudnn/descriptors.h"
#include "kernels/cudnn/handle.h"
#include "kernels/params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

bool supports_pool(const Pool2dShape& s, const Window2d& w, const TensorArg* args, int nargs) {
  for (std::int64_t v : {s.batch, s.channels, s.in_height, s.in_width, s.out_height, s.out_width, w.kernel_height,
                         w.kernel_width, w.stride_height, w.stride_width, w.pad_height, w.pad_width}) {
    if (!cudnn::fits_int(v)) return false;
  }
  if (s.batch * s.channels < 1 || w.dilation_height != 1 || w.dilation_width != 1) return false;
  if (s.out_height != window_output_size(s.in_height, w.kernel_height, w.stride_height, w.pad_height, 1, false) ||
      s.out_width != window_output_size(s.in_width, w.kernel_width, w.stride_width, w.pad_width, 1, false)) {
    return false;
  }
  for (int i = 0; i < nargs; ++i) {
    if (!cudnn::fits_int(args[i].numel())) return false;
    for (int d = 0; d < args[i].ndim; ++d) {
      if (!cudnn::fits_int(args[i].strides[d]) || args[i].strides[d] < 1) return false;
    }
  }
  return cudnn::usable();
}

bool supports_forward(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const AvgPool2dParams*>(params);
  return supports_pool(p.shape, p.window, args, nargs);
}

bool supports_backward(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const AvgPool2dBackwardParams*>(params);
  return supports_pool(p.shape, p.window, args, nargs);
}

bool supports_max(const Pool2dShape& s, const Window2d& w, const TensorArg* args, int nargs) {
  return w.pad_height == 0 && w.pad_width == 0 && supports_pool(s, w, args, nargs);
}

bool supports_max_forward(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const MaxPool2dValuesParams*>(params);
  return supports_max(p.shape, p.window, args, nargs);
}

bool supports_max_backward(const void* params, const TensorArg* args, int nargs) {
  const auto& p = *static_cast<const MaxPool2dValuesBackwardParams*>(params);
  return supports_max(p.shape, p.window, args, nargs);
}

cudnnPoolingMode_t average_mode(bool count_include_pad) {
  return count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

void set_pooling(const cudnn::PoolingDescriptor& desc, const Window2d& w, cudnnPoolingMode_t mode, const char* op) {
  REDES_CUDNN_CHECK(cudnn::api().cudnnSetPooling2dDescriptor(
                        desc.get(), mode, CUDNN_PROPAGATE_NAN, int(w.kernel_height), int(w.kernel_width),
                        int(w.pad_height), int(w.pad_width), int(w.stride_height), int(w.stride_width)),
                    op);
}

// A 4-D tensor with its own strides (inputs may be views).
void set_strided(const cudnn::TensorDescriptor& desc, cudnnDataType_t type, const TensorArg& arg, const char* op) {
  REDES_CUDNN_CHECK(cudnn::api().cudnnSetTensor4dDescriptorEx(
                        desc.get(), type, int(arg.sizes[0]), int(arg.sizes[1]), int(arg.sizes[2]), int(arg.sizes[3]),
                        int(arg.strides[0]), int(arg.strides[1]), int(arg.strides[2]), int(arg.strides[3])),
                    op);
}

// out = pool(input): out (N, C, OH, OW) contiguous, input (N, C, H, W) any strides.
template <class T>
void pool_forward(const Window2d& window, cudnnPoolingMode_t mode, const TensorArg& out, const TensorArg& input,
                  const ExecContext& ctx, const char* op) {
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  cudnn::PoolingDescriptor pool(op);
  cudnn::TensorDescriptor x(op), y(op);
  set_pooling(pool, window, mode, op);
  set_strided(x, type, input, op);
  set_strided(y, type, out, op);
  const T one = 1, zero = 0;
  REDES_CUDNN_CHECK(cudnn::api().cudnnPoolingForward(cudnn::handle(ctx, op), pool.get(), &one, x.get(), input.data,
                                                     &zero, y.get(), out.data),
                    op);
}

// dx from dy and the forward's x and y: dx (N, C, H, W) contiguous, the
// others any strides.
template <class T>
void pool_backward(const Window2d& window, cudnnPoolingMode_t mode, const TensorArg& dx_arg, const TensorArg& dy_arg,
                   const TensorArg& x_arg, const TensorArg& y_arg, const ExecContext& ctx, const char* op) {
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  cudnn::PoolingDescriptor pool(op);
  cudnn::TensorDescriptor dx(op), dy(op), x(op), y(op);
  set_pooling(pool, window, mode, op);
  set_strided(dx, type, dx_arg, op);
  set_strided(dy, type, dy_arg, op);
  set_strided(x, type, x_arg, op);
  set_strided(y, type, y_arg, op);
  const T one = 1, zero = 0;
  REDES_CUDNN_CHECK(
      cudnn::api().cudnnPoolingBackward(cudnn::handle(ctx, op), pool.get(), &one, y.get(), y_arg.data, dy.get(),
                                        dy_arg.data, x.get(), x_arg.data, &zero, dx.get(), dx_arg.data),
      op);
}

// args: out, input.
template <class T>
void forward(const AvgPool2dParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  pool_forward<T>(p.window, average_mode(p.count_include_pad), args[0], args[1], ctx, AvgPool2dParams::op);
}

// args: grad_input, grad_output.
template <class T>
void backward(const AvgPool2dBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  // The API wants the forward output y and input x too; average pooling reads
  // neither, and the op's args do not carry them. dy stands in for y (same
  // shape), and a scratch buffer of x's shape for x, so that no argument
  // aliases the output dx.
  TensorArg x_stand_in = args[0];
  x_stand_in.data = ctx.workspace->request(static_cast<std::size_t>(args[0].numel()) * sizeof(T));
  pool_backward<T>(p.window, average_mode(p.count_include_pad), args[0], args[1], x_stand_in, args[1], ctx,
                   AvgPool2dBackwardParams::op);
}

// args: out, input.
template <class T>
void max_forward(const MaxPool2dValuesParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  pool_forward<T>(p.window, CUDNN_POOLING_MAX_DETERMINISTIC, args[0], args[1], ctx, MaxPool2dValuesParams::op);
}

// args: grad_input, grad_output, input, output.
template <class T>
void max_backward(const MaxPool2dValuesBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  pool_backward<T>(p.window, CUDNN_POOLING_MAX_DETERMINISTIC, args[0], args[1], args[2], args[3], ctx,
                   MaxPool2dValuesBackwardParams::op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<AvgPool2dParams, &forward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_forward));
  registry.add(
      make_kernel<AvgPool2dBackwardParams, &backward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_backward));
  registry.add(
      make_kernel<MaxPool2dValuesParams, &max_forward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_max_forward));
  registry.add(make_kernel<MaxPool2dValuesBackwardParams, &max_backward<T>>(DeviceType::CUDA, dtype, "cudnn", 0,
                                                                            &supports_max_backward));
}

}  // namespace

void register_cudnn_pool2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
}

}  // namespace redes

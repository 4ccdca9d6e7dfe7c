// conv2d forward, backward-data and backward-filter through cuDNN's
// convolution API, for float32 and float64 (NCHW, contiguous, as the
// front-end passes them; see Conv2dForwardParams).
//
// Algorithms: cudnnFind*AlgorithmEx times cuDNN's algorithms on the first
// call of each geometry; the fastest one allowed by the settings is kept.
// Unless allow_tf32() is set, the math type is CUDNN_FMA_MATH and only the
// direct and GEMM-family algorithms are allowed, whose float32 results match
// the CPU reference to float32 rounding (FFT and Winograd round in a
// transform domain). deterministic() keeps only algorithms cuDNN reports as
// deterministic.
#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/cudnn/descriptors.h"
#include "kernels/cudnn/handle.h"
#include "kernels/kernel_settings.h"
#include "kernels/params.h"
#include "kernels/params_key.h"
#include "kernels/registry.h"

namespace redes {
namespace {

// Largest scratch an algorithm may ask for: bigger ones are left out.
constexpr std::size_t kWorkspaceLimit = std::size_t{1} << 30;

struct Algorithm {
  int algo = 0;
  std::size_t workspace = 0;
};

// The type a convolution accumulates in: float32 for the 16-bit types (as
// PyTorch asks of cuDNN), the data type otherwise.
cudnnDataType_t compute_type(cudnnDataType_t type) {
  return type == CUDNN_DATA_HALF || type == CUDNN_DATA_BFLOAT16 ? CUDNN_DATA_FLOAT : type;
}

// Descriptors of one convolution: x (N, C, H, W), y (N, K, OH, OW),
// w (K, C/groups, kh, kw), all NCHW contiguous.
struct ConvDescriptors {
  cudnn::TensorDescriptor x, y;
  cudnn::FilterDescriptor w;
  cudnn::ConvolutionDescriptor conv;

  ConvDescriptors(const Conv2dGeometry& g, cudnnDataType_t type, const char* op) : x(op), y(op), w(op), conv(op) {
    const Window2d& win = g.window;
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, type, int(g.batch),
                                                              int(g.in_channels), int(g.in_height), int(g.in_width)),
                      op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, type, int(g.batch),
                                                              int(g.out_channels), int(g.out_height), int(g.out_width)),
                      op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetFilter4dDescriptor(w.get(), type, CUDNN_TENSOR_NCHW, int(g.out_channels),
                                                              int(g.in_channels / g.groups), int(win.kernel_height),
                                                              int(win.kernel_width)),
                      op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetConvolution2dDescriptor(conv.get(), int(win.pad_height), int(win.pad_width),
                                                                   int(win.stride_height), int(win.stride_width),
                                                                   int(win.dilation_height), int(win.dilation_width),
                                                                   CUDNN_CROSS_CORRELATION, compute_type(type)),
                      op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetConvolutionGroupCount(conv.get(), int(g.groups)), op);
    // TF32 only when asked for: float32 results otherwise stay exact to
    // float32 rounding. 16-bit operands take the tensor cores, which
    // accumulate their products in float32.
    const bool sixteen_bit = type == CUDNN_DATA_HALF || type == CUDNN_DATA_BFLOAT16;
    const bool tensor_ops = sixteen_bit || (allow_tf32() && type == CUDNN_DATA_FLOAT);
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnSetConvolutionMathType(conv.get(), tensor_ops ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), op);
  }
};

bool exact_forward(int algo) {
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
bool exact_backward_data(int algo) {
  return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool exact_backward_filter(int algo) {
  return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
         algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// The first (fastest) of cudnnFind*'s results that ran and that the settings allow.
template <class Perf>
Algorithm pick(const std::vector<Perf>& results, int returned, bool (*exact)(int), const char* op) {
  const bool need_exact = !allow_tf32(), need_deterministic = deterministic();
  for (int i = 0; i < returned; ++i) {
    const Perf& r = results[static_cast<std::size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > kWorkspaceLimit) continue;
    if (need_exact && !exact(static_cast<int>(r.algo))) continue;
    if (need_deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    return {static_cast<int>(r.algo), r.memory};
  }
  detail::fail(op, ": cuDNN offers no algorithm for this convolution that is ",
               need_exact ? "exact (FMA math, no FFT or "
                            "Winograd), "
                          : "",
               need_deterministic ? "deterministic, " : "", "and needs at most 1 GiB of workspace (", returned,
               " algorithms tried)");
}

enum class Pass { Forward, BackwardData, BackwardFilter };

// Chosen algorithms by pass, geometry, dtype, settings and device.
std::mutex g_algorithms_mutex;
std::map<std::string, Algorithm>& algorithms() {
  static auto* table = new std::map<std::string, Algorithm>();
  return *table;
}

std::string algorithm_key(Pass pass, const Conv2dGeometry& g, cudnnDataType_t type, const ExecContext& ctx) {
  return std::to_string(static_cast<int>(pass)) + bytes_key(g) + "/" + std::to_string(type) + "/" +
         std::to_string(deterministic()) + std::to_string(allow_tf32()) + "/" + std::to_string(ctx.device.index);
}

// Runs cudnnFind*AlgorithmEx for `pass` on the call's own buffers (the outputs
// are overwritten afterwards) with as much workspace as the largest allowed
// algorithm wants, up to the limit.
Algorithm find_algorithm(Pass pass, const ConvDescriptors& d, cudnnHandle_t handle, const TensorArg* args,
                         const ExecContext& ctx, const char* op) {
  int count = 0;
  std::size_t workspace = 0;
  const auto widen = [&](cudnnStatus_t status, std::size_t bytes) {
    if (status == CUDNN_STATUS_SUCCESS && bytes <= kWorkspaceLimit && bytes > workspace) workspace = bytes;
  };
  void* out = args[0].data;
  const void* a = args[1].data;
  const void* b = args[2].data;
  void* scratch = nullptr;
  int returned = 0;
  switch (pass) {
    case Pass::Forward: {
      REDES_CUDNN_CHECK(cudnn::api().cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count), op);
      for (int algo = 0; algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++algo) {
        std::size_t bytes = 0;
        widen(
            cudnn::api().cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                                 static_cast<cudnnConvolutionFwdAlgo_t>(algo), &bytes),
            bytes);
      }
      if (workspace > 0) scratch = ctx.workspace->request(workspace);
      std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<std::size_t>(count));
      // args: y, x, w.
      REDES_CUDNN_CHECK(cudnn::api().cudnnFindConvolutionForwardAlgorithmEx(
                            handle, d.x.get(), a, d.w.get(), b, d.conv.get(), d.y.get(), out, count, &returned,
                            results.data(), scratch, workspace),
                        op);
      return pick(results, returned, &exact_forward, op);
    }
    case Pass::BackwardData: {
      REDES_CUDNN_CHECK(cudnn::api().cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count), op);
      for (int algo = 0; algo < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++algo) {
        std::size_t bytes = 0;
        widen(cudnn::api().cudnnGetConvolutionBackwardDataWorkspaceSize(
                  handle, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                  static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), &bytes),
              bytes);
      }
      if (workspace > 0) scratch = ctx.workspace->request(workspace);
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<std::size_t>(count));
      // args: dx, dy, w.
      REDES_CUDNN_CHECK(cudnn::api().cudnnFindConvolutionBackwardDataAlgorithmEx(
                            handle, d.w.get(), b, d.y.get(), a, d.conv.get(), d.x.get(), out, count, &returned,
                            results.data(), scratch, workspace),
                        op);
      return pick(results, returned, &exact_backward_data, op);
    }
    case Pass::BackwardFilter: {
      REDES_CUDNN_CHECK(cudnn::api().cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count), op);
      for (int algo = 0; algo < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; ++algo) {
        std::size_t bytes = 0;
        widen(cudnn::api().cudnnGetConvolutionBackwardFilterWorkspaceSize(
                  handle, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                  static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), &bytes),
              bytes);
      }
      if (workspace > 0) scratch = ctx.workspace->request(workspace);
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(static_cast<std::size_t>(count));
      // args: dw, dy, x.
      REDES_CUDNN_CHECK(cudnn::api().cudnnFindConvolutionBackwardFilterAlgorithmEx(
                            handle, d.x.get(), b, d.y.get(), a, d.conv.get(), d.w.get(), out, count, &returned,
                            results.data(), scratch, workspace),
                        op);
      return pick(results, returned, &exact_backward_filter, op);
    }
  }
  detail::fail(op, ": unknown convolution pass");
}

Algorithm algorithm_for(Pass pass, const Conv2dGeometry& g, const ConvDescriptors& d, cudnnDataType_t type,
                        cudnnHandle_t handle, const TensorArg* args, const ExecContext& ctx, const char* op) {
  const std::string key = algorithm_key(pass, g, type, ctx);
  {
    std::lock_guard lock(g_algorithms_mutex);
    auto found = algorithms().find(key);
    if (found != algorithms().end()) return found->second;
  }
  const Algorithm chosen = find_algorithm(pass, d, handle, args, ctx, op);
  std::lock_guard lock(g_algorithms_mutex);
  algorithms().emplace(key, chosen);
  return chosen;
}

// cuDNN takes int sizes, and its legacy API indexes tensors with 32-bit
// offsets; an empty batch is left to the hand kernels (cuDNN rejects it).
bool supports_geometry(const void* params, const TensorArg* args, int nargs) {
  const Conv2dGeometry& g = *static_cast<const Conv2dGeometry*>(params);
  for (std::int64_t v :
       {g.batch, g.in_channels, g.in_height, g.in_width, g.out_channels, g.out_height, g.out_width, g.groups,
        g.window.kernel_height, g.window.kernel_width, g.window.stride_height, g.window.stride_width,
        g.window.pad_height, g.window.pad_width, g.window.dilation_height, g.window.dilation_width}) {
    if (!cudnn::fits_int(v)) return false;
  }
  if (g.batch < 1) return false;
  for (int i = 0; i < nargs; ++i) {
    if (!cudnn::fits_int(args[i].numel())) return false;
  }
  return cudnn::usable();
}

// Every conv params struct is a Conv2dGeometry and nothing else, which
// supports_geometry relies on.
static_assert(sizeof(Conv2dForwardParams) == sizeof(Conv2dGeometry));
static_assert(sizeof(Conv2dBackwardInputParams) == sizeof(Conv2dGeometry));
static_assert(sizeof(Conv2dBackwardWeightParams) == sizeof(Conv2dGeometry));

// args: out (N, K, OH, OW), input, weight [, bias (K)].
template <class T>
void forward(const Conv2dForwardParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  const char* op = Conv2dForwardParams::op;
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  const ConvDescriptors d(p.geometry, type, op);
  const cudnnHandle_t handle = cudnn::handle(ctx, op);
  const Algorithm algo = algorithm_for(Pass::Forward, p.geometry, d, type, handle, args, ctx, op);
  void* scratch = algo.workspace > 0 ? ctx.workspace->request(algo.workspace) : nullptr;
  const cudnn::scaling_type_t<T> one = 1, zero = 0;
  REDES_CUDNN_CHECK(
      cudnn::api().cudnnConvolutionForward(handle, &one, d.x.get(), args[1].data, d.w.get(), args[2].data, d.conv.get(),
                                           static_cast<cudnnConvolutionFwdAlgo_t>(algo.algo), scratch, algo.workspace,
                                           &zero, d.y.get(), args[0].data),
      op);
  if (nargs > 3) {
    cudnn::TensorDescriptor bias(op);
    REDES_CUDNN_CHECK(cudnn::api().cudnnSetTensor4dDescriptor(bias.get(), CUDNN_TENSOR_NCHW, type, 1,
                                                              int(p.geometry.out_channels), 1, 1),
                      op);
    REDES_CUDNN_CHECK(
        cudnn::api().cudnnAddTensor(handle, &one, bias.get(), args[3].data, &one, d.y.get(), args[0].data), op);
  }
}

// args: grad_input (N, C, H, W), grad_output (N, K, OH, OW), weight.
template <class T>
void backward_input(const Conv2dBackwardInputParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = Conv2dBackwardInputParams::op;
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  const ConvDescriptors d(p.geometry, type, op);
  const cudnnHandle_t handle = cudnn::handle(ctx, op);
  const Algorithm algo = algorithm_for(Pass::BackwardData, p.geometry, d, type, handle, args, ctx, op);
  void* scratch = algo.workspace > 0 ? ctx.workspace->request(algo.workspace) : nullptr;
  const cudnn::scaling_type_t<T> one = 1, zero = 0;
  REDES_CUDNN_CHECK(
      cudnn::api().cudnnConvolutionBackwardData(handle, &one, d.w.get(), args[2].data, d.y.get(), args[1].data,
                                                d.conv.get(), static_cast<cudnnConvolutionBwdDataAlgo_t>(algo.algo),
                                                scratch, algo.workspace, &zero, d.x.get(), args[0].data),
      op);
}

// args: grad_weight (K, C/groups, kh, kw), grad_output (N, K, OH, OW), input.
template <class T>
void backward_weight(const Conv2dBackwardWeightParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const char* op = Conv2dBackwardWeightParams::op;
  constexpr cudnnDataType_t type = cudnn::data_type<T>();
  const ConvDescriptors d(p.geometry, type, op);
  const cudnnHandle_t handle = cudnn::handle(ctx, op);
  const Algorithm algo = algorithm_for(Pass::BackwardFilter, p.geometry, d, type, handle, args, ctx, op);
  void* scratch = algo.workspace > 0 ? ctx.workspace->request(algo.workspace) : nullptr;
  const cudnn::scaling_type_t<T> one = 1, zero = 0;
  REDES_CUDNN_CHECK(
      cudnn::api().cudnnConvolutionBackwardFilter(handle, &one, d.x.get(), args[2].data, d.y.get(), args[1].data,
                                                  d.conv.get(), static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo.algo),
                                                  scratch, algo.workspace, &zero, d.w.get(), args[0].data),
      op);
}

template <class T>
void register_for(KernelRegistry& registry) {
  constexpr DType dtype = dtype_of_v<T>;
  registry.add(make_kernel<Conv2dForwardParams, &forward<T>>(DeviceType::CUDA, dtype, "cudnn", 0, &supports_geometry));
  registry.add(make_kernel<Conv2dBackwardInputParams, &backward_input<T>>(DeviceType::CUDA, dtype, "cudnn", 0,
                                                                          &supports_geometry));
  registry.add(make_kernel<Conv2dBackwardWeightParams, &backward_weight<T>>(DeviceType::CUDA, dtype, "cudnn", 0,
                                                                            &supports_geometry));
}

}  // namespace

void register_cudnn_conv2d(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
  register_for<BFloat16>(registry);
  register_for<Float16>(registry);
}

}  // namespace redes

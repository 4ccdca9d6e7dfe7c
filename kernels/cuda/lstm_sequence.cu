// The whole-sequence LSTM on CUDA devices by hand-written kernels: the ops of
// kernels/lstm_sequence_params.h, which cuDNN's RNN also implements.
//
// Forward, per layer: one tiled GEMM projects every step's input at once
// (kernels/cuda/strided_gemm.cuh); then one persistent kernel runs all the
// steps. A block owns a few sequences of the batch for the whole sequence.
// A step of one sequence depends only on that sequence's previous h and c,
// so blocks never wait for each other and the recurrence needs no grid-wide
// barrier. The recurrent weights (4H x H) stay in the block's shared memory
// across the steps where they fit (float32 up to hidden size 119 with 227 KiB
// per block), else every step reads them from global memory, where they
// stay in L2. Per step, each thread computes whole gate rows j, for all of
// the block's sequences at once, so each weight is read once per step and
// block; then each thread runs the cell math (kernels/lstm_math.h, shared
// with the CPU) for a (sequence, unit). h and c never leave the block
// between steps.
//
// Backward, per layer from the top: one persistent kernel runs the steps in
// reverse, the same way: dh is the step's output gradient plus the next
// step's gate gradients through W_hh (in shared memory likewise), then the
// cell backward writes the step's gate gradients. The weight gradients, the
// input gradient and the bias gradient are then one GEMM or one sum each
// over all steps, as on the CPU.
//
// Reserve (training): the hand kernels' layout (kernels/lstm_sequence_params.h),
// as on the CPU.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/strided_gemm.cuh"
#include "kernels/cuda/sum_into.h"
#include "kernels/lstm_math.h"
#include "kernels/lstm_sequence_params.h"
#include "kernels/lstm_sequence_plan.h"
#include "kernels/registry.h"

namespace redes {
namespace {

constexpr const char* kOp = LstmSequenceParams::op;
constexpr const char* kBackwardOp = LstmSequenceBackwardParams::op;

// One layer's forward recurrence. `projected` holds input @ W_ih^T for every
// step (row t * N + n), without the biases.
template <class T>
struct ForwardRecurrence {
  const T* projected;  // (T, N, 4H)
  const T* w_hh_t;     // (H, 4H): W_hh transposed, so gate row j is column j
  const T* b_ih;       // (4H), or null without bias
  const T* b_hh;       // (4H), or null without bias
  const T* h0;         // (N, H)
  const T* c0;         // (N, H)
  T* activated;        // (T, N, 4H)
  T* h;                // (T, N, H)
  T* c;                // (T, N, H)
  T* h_n;              // (N, H)
  T* c_n;              // (N, H)
  int steps, batch, hidden;
  bool weights_in_shared;
};

// Shared memory: [W_hh^T (H x 4H) when weights_in_shared][h (kRows x H)]
// [c (kRows x H)][pre-activation gates (kRows x 4H)].
template <class T, int kRows>
__global__ void __launch_bounds__(kLstmMaxThreads) lstm_forward_recurrence(ForwardRecurrence<T> a) {
  const int hidden = a.hidden, gates = 4 * hidden;
  const int first = static_cast<int>(blockIdx.x) * kRows;
  const int rows = cuda::device_min(kRows, a.batch - first);
  const int thread = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  T* shared = cuda::dynamic_shared<T>();
  const T* w = a.w_hh_t;
  if (a.weights_in_shared) {
    for (int e = thread; e < gates * hidden; e += threads) shared[e] = a.w_hh_t[e];
    w = shared;
    shared += gates * hidden;
  }
  T* h_prev = shared;
  T* c_prev = h_prev + kRows * hidden;
  T* pre = c_prev + kRows * hidden;
  // Rows past the batch hold zeros: their products are computed and dropped.
  for (int e = thread; e < kRows * hidden; e += threads) {
    const bool valid = e < rows * hidden;
    h_prev[e] = valid ? a.h0[static_cast<std::int64_t>(first) * hidden + e] : T(0);
    c_prev[e] = valid ? a.c0[static_cast<std::int64_t>(first) * hidden + e] : T(0);
  }
  __syncthreads();
  for (int t = 0; t < a.steps; ++t) {
    const std::int64_t step_row = static_cast<std::int64_t>(t) * a.batch + first;
    for (int j = thread; j < gates; j += threads) {
      const T bias = a.b_ih != nullptr ? a.b_ih[j] + a.b_hh[j] : T(0);
      T acc[kRows];
      for (int r = 0; r < kRows; ++r) acc[r] = r < rows ? a.projected[(step_row + r) * gates + j] + bias : T(0);
      for (int k = 0; k < hidden; ++k) {
        const T weight = w[k * gates + j];
        for (int r = 0; r < kRows; ++r) acc[r] += weight * h_prev[r * hidden + k];
      }
      for (int r = 0; r < rows; ++r) pre[r * gates + j] = acc[r];
    }
    __syncthreads();
    for (int e = thread; e < rows * hidden; e += threads) {
      const int r = e / hidden, u = e % hidden;
      const T* p = pre + r * gates;
      const lstm::CellForward<T> cell =
          lstm::cell_forward(p[u], p[hidden + u], p[2 * hidden + u], p[3 * hidden + u], c_prev[e]);
      const std::int64_t row = step_row + r;
      T* act = a.activated + row * gates;
      act[u] = cell.i;
      act[hidden + u] = cell.f;
      act[2 * hidden + u] = cell.g;
      act[3 * hidden + u] = cell.o;
      a.h[row * hidden + u] = cell.h;
      a.c[row * hidden + u] = cell.c;
      h_prev[e] = cell.h;
      c_prev[e] = cell.c;
    }
    __syncthreads();
  }
  for (int e = thread; e < rows * hidden; e += threads) {
    a.h_n[static_cast<std::int64_t>(first) * hidden + e] = h_prev[e];
    a.c_n[static_cast<std::int64_t>(first) * hidden + e] = c_prev[e];
  }
}

// One layer's backward recurrence: every step's gate gradients, and the
// gradients of the initial states.
template <class T>
struct BackwardRecurrence {
  const T* w_hh;       // (4H, H)
  const T* d_output;   // (T, N, H): the loss's gradient of h at every step, from outside the recurrence
  const T* dh_n;       // (N, H)
  const T* dc_n;       // (N, H)
  const T* activated;  // (T, N, 4H), from the forward
  const T* c;          // (T, N, H), from the forward
  const T* c0;         // (N, H)
  T* d_gates;          // (T, N, 4H)
  T* dh0;              // (N, H)
  T* dc0;              // (N, H)
  int steps, batch, hidden;
  bool weights_in_shared;
};

// Shared memory: [W_hh (4H x H) when weights_in_shared][gate gradients of
// the step after (kRows x 4H)][dh (kRows x H)][dc (kRows x H)].
template <class T, int kRows>
__global__ void __launch_bounds__(kLstmMaxThreads) lstm_backward_recurrence(BackwardRecurrence<T> a) {
  const int hidden = a.hidden, gates = 4 * hidden;
  const int first = static_cast<int>(blockIdx.x) * kRows;
  const int rows = cuda::device_min(kRows, a.batch - first);
  const int thread = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const std::int64_t state_first = static_cast<std::int64_t>(first) * hidden;
  T* shared = cuda::dynamic_shared<T>();
  const T* w = a.w_hh;
  if (a.weights_in_shared) {
    for (int e = thread; e < gates * hidden; e += threads) shared[e] = a.w_hh[e];
    w = shared;
    shared += gates * hidden;
  }
  T* dg_next = shared;
  T* dh = dg_next + kRows * gates;
  T* dc = dh + kRows * hidden;
  // What reaches h of row r through the recurrence: dg_next[r] @ W_hh.
  const auto recurrent = [&](int r, int u) {
    T sum = 0;
    for (int j = 0; j < gates; ++j) sum += dg_next[r * gates + j] * w[j * hidden + u];
    return sum;
  };
  for (int e = thread; e < rows * hidden; e += threads) dc[e] = a.dc_n[state_first + e];
  __syncthreads();
  for (int t = a.steps - 1; t >= 0; --t) {
    const std::int64_t step_row = static_cast<std::int64_t>(t) * a.batch + first;
    for (int e = thread; e < rows * hidden; e += threads) {
      const int r = e / hidden, u = e % hidden;
      const T from_output = a.d_output[(step_row + r) * hidden + u];
      dh[e] = from_output + (t == a.steps - 1 ? a.dh_n[state_first + e] : recurrent(r, u));
    }
    __syncthreads();
    for (int e = thread; e < rows * hidden; e += threads) {
      const int r = e / hidden, u = e % hidden;
      const std::int64_t row = step_row + r;
      const T* act = a.activated + row * gates;
      const T c_prev = t > 0 ? a.c[(row - a.batch) * hidden + u] : a.c0[state_first + e];
      const lstm::CellBackward<T> g = lstm::cell_backward(dh[e], dc[e], act[u], act[hidden + u], act[2 * hidden + u],
                                                          act[3 * hidden + u], c_prev, a.c[row * hidden + u]);
      T* d_row = a.d_gates + row * gates;
      T* d_shared = dg_next + r * gates;
      d_row[u] = d_shared[u] = g.d_i;
      d_row[hidden + u] = d_shared[hidden + u] = g.d_f;
      d_row[2 * hidden + u] = d_shared[2 * hidden + u] = g.d_g;
      d_row[3 * hidden + u] = d_shared[3 * hidden + u] = g.d_o;
      dc[e] = g.dc_prev;
    }
    __syncthreads();
  }
  for (int e = thread; e < rows * hidden; e += threads) {
    a.dh0[state_first + e] = recurrent(e / hidden, e % hidden);
    a.dc0[state_first + e] = dc[e];
  }
}

// out (H, 4H) = in (4H, H) transposed.
template <class T>
__global__ void transpose_kernel(T* out, const T* in, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t index = cuda::first_index(); index < rows * cols; index += cuda::grid_stride()) {
    const std::int64_t col = index / rows, row = index % rows;
    out[index] = in[row * cols + col];
  }
}

// The layer's recurrence plan (kernels/lstm_sequence_plan.h) on ctx's device.
template <class T>
LstmRecurrencePlan recurrence_plan(const LstmSequenceShape& s, const ExecContext& ctx, const char* op) {
  int multiprocessors = 0, shared_limit = 0;
  REDES_CUDA_CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, ctx.device.index), op);
  REDES_CUDA_CHECK(cudaDeviceGetAttribute(&shared_limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device.index),
                   op);
  return plan_lstm_recurrence(s.batch, s.hidden_size, sizeof(T), multiprocessors,
                              static_cast<std::size_t>(shared_limit));
}

// The two recurrences by sequences per block, for launch_recurrence.
template <class T, int kRows>
struct ForwardKernel {
  static constexpr auto fn = &lstm_forward_recurrence<T, kRows>;
};
template <class T, int kRows>
struct BackwardKernel {
  static constexpr auto fn = &lstm_backward_recurrence<T, kRows>;
};

// Launches one recurrence kernel, opting in to the shared memory it needs.
template <template <class, int> class Kernel, class T, int kRows, class Args>
void launch_rows(const LstmRecurrencePlan& plan, const Args& args, cudaStream_t stream, const char* op) {
  constexpr auto kernel = Kernel<T, kRows>::fn;
  REDES_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(plan.shared_bytes)),
      op);
  REDES_CUDA_CHECK(cuda::launch(kernel, static_cast<unsigned>(plan.blocks), plan.threads, plan.shared_bytes, stream, args),
                   op);
}

// Launches Kernel<T, kRows> for the plan's sequences per block.
template <template <class, int> class Kernel, class T, class Args>
void launch_recurrence(const LstmRecurrencePlan& plan, const Args& args, cudaStream_t stream, const char* op) {
  switch (plan.rows_per_block) {
    case 1:
      return launch_rows<Kernel, T, 1>(plan, args, stream, op);
    case 2:
      return launch_rows<Kernel, T, 2>(plan, args, stream, op);
    case 4:
      return launch_rows<Kernel, T, 4>(plan, args, stream, op);
    default:
      return launch_rows<Kernel, T, 8>(plan, args, stream, op);
  }
}

// The sizes every launch below uses, with the check that they fit the
// kernels' int indices.
struct Sizes {
  std::int64_t steps, batch, hidden, input, rows, state;  // rows = steps * batch; state = batch * hidden

  Sizes(const LstmSequenceShape& s, const char* op)
      : steps(s.steps),
        batch(s.batch),
        hidden(s.hidden_size),
        input(s.input_size),
        rows(s.steps * s.batch),
        state(s.batch * s.hidden_size) {
    constexpr std::int64_t limit = std::numeric_limits<int>::max();
    REDES_CHECK(rows <= limit && 4 * hidden * std::max(hidden, input) <= limit && rows * 4 * hidden <= limit, op,
                ": the CUDA kernel indexes with 32-bit ints; got ", steps, " steps of batch ", batch, ", input ", input,
                ", hidden ", hidden);
  }
};

template <class T>
void copy_device(T* to, const T* from, std::int64_t elements, cudaStream_t stream, const char* op) {
  if (elements == 0) return;
  REDES_CUDA_CHECK(cudaMemcpyAsync(to, from, static_cast<std::size_t>(elements) * sizeof(T), cudaMemcpyDeviceToDevice,
                                   stream),
                   op);
}

// out (m, n) = a @ b, or += with accumulate; strides as StridedGemm takes them.
template <class T>
void gemm(T* out, const T* a, cuda::OperandStrides as, const T* b, cuda::OperandStrides bs, std::int64_t m,
          std::int64_t n, std::int64_t k, bool accumulate, cudaStream_t stream, const char* op) {
  const cuda::StridedGemm g{.batch = 1, .m = m, .n = n, .k = k, .accumulate = accumulate};
  REDES_CUDA_CHECK(cuda::launch_strided_gemm<T>(g, out, a, as, b, bs, stream), op);
}

// A contiguous row-major matrix's strides.
constexpr cuda::OperandStrides row_major(std::int64_t cols) { return {0, cols, 1}; }
// The strides that read a contiguous (rows, cols) matrix as its transpose.
constexpr cuda::OperandStrides transposed(std::int64_t cols) { return {0, 1, cols}; }

// args: y (T, N, H), h_n, c_n (L, N, H), x (T, N, F), h0, c0, weights.
template <class T>
void lstm_sequence_cuda(const LstmSequenceParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const LstmSequenceShape& s = p.shape;
  const Sizes z(s, kOp);
  const cudaStream_t stream = cuda::stream_of(ctx);
  const auto [y, h_n, c_n, x, h0, c0, weights] = lstm_sequence_args<T>(args);
  if (z.rows == 0) {  // no steps or no sequences: the final state is the initial one
    copy_device(h_n, h0, s.layers * z.state, stream, kOp);
    copy_device(c_n, c0, s.layers * z.state, stream, kOp);
    return;
  }
  const std::int64_t reserve_elements = s.layers * lstm_layer_reserve_elements(s);
  T* reserve = p.reserve != nullptr
                   ? static_cast<T*>(p.reserve->request(static_cast<std::size_t>(reserve_elements) * sizeof(T)))
                   : workspace_elements<T>(ctx, reserve_elements, kOp);
  T* projected = workspace_elements<T>(ctx, z.rows * 4 * z.hidden, kOp);
  T* w_hh_t = workspace_elements<T>(ctx, 4 * z.hidden * z.hidden, kOp);
  const LstmRecurrencePlan plan = recurrence_plan<T>(s, ctx, kOp);

  const T* input = x;
  std::int64_t in = z.input;
  for (std::int64_t l = 0; l < s.layers; ++l) {
    const LstmLayerState<T> layer = lstm_layer_state(reserve, s, l);
    gemm(projected, input, row_major(in), lstm_weight<T>(weights, s, l, 0), transposed(in), z.rows, 4 * z.hidden, in,
         false, stream, kOp);
    REDES_CUDA_CHECK(cuda::launch(transpose_kernel<T>, cuda::grid_size(4 * z.hidden * z.hidden), cuda::kBlockSize, 0,
                                  stream, w_hh_t, lstm_weight<T>(weights, s, l, 1), 4 * z.hidden, z.hidden),
                     kOp);
    const ForwardRecurrence<T> recurrence{projected,
                                          w_hh_t,
                                          s.bias ? lstm_weight<T>(weights, s, l, 2) : nullptr,
                                          s.bias ? lstm_weight<T>(weights, s, l, 3) : nullptr,
                                          h0 + l * z.state,
                                          c0 + l * z.state,
                                          layer.activated,
                                          layer.h,
                                          layer.c,
                                          h_n + l * z.state,
                                          c_n + l * z.state,
                                          static_cast<int>(z.steps),
                                          static_cast<int>(z.batch),
                                          static_cast<int>(z.hidden),
                                          plan.weights_in_shared};
    launch_recurrence<ForwardKernel, T>(plan, recurrence, stream, kOp);
    input = layer.h;
    in = z.hidden;
  }
  copy_device(y, input, z.rows * z.hidden, stream, kOp);
}

// args: dx (T, N, F), dh0, dc0 (L, N, H), one gradient per weight, then y,
// dy, dh_n, dc_n, x, h0, c0, reserve, then the weights.
template <class T>
void lstm_sequence_backward_cuda(const LstmSequenceBackwardParams& p, const TensorArg* args, int,
                                 const ExecContext& ctx) {
  const LstmSequenceShape& s = p.shape;
  const Sizes z(s, kBackwardOp);
  const cudaStream_t stream = cuda::stream_of(ctx);
  const std::int64_t weight_count = lstm_sequence_weight_count(s);
  const auto [dx, dh0, dc0, weight_grads, dy, dh_n, dc_n, x, h0, c0, reserve, weights] =
      lstm_sequence_backward_args<T>(s, args);
  if (z.rows == 0) {  // the final state is the initial one; nothing reaches the weights
    copy_device(dh0, dh_n, s.layers * z.state, stream, kBackwardOp);
    copy_device(dc0, dc_n, s.layers * z.state, stream, kBackwardOp);
    for (std::int64_t w = 0; w < weight_count; ++w) {
      REDES_CUDA_CHECK(cudaMemsetAsync(weight_grads[w].data, 0,
                                       static_cast<std::size_t>(weight_grads[w].numel()) * sizeof(T), stream),
                       kBackwardOp);
    }
    return;
  }
  const std::int64_t gates = 4 * z.hidden;
  T* d_gates = workspace_elements<T>(ctx, z.rows * gates, kBackwardOp);
  T* d_below = s.layers > 1 ? workspace_elements<T>(ctx, z.rows * z.hidden, kBackwardOp) : nullptr;
  const LstmRecurrencePlan plan = recurrence_plan<T>(s, ctx, kBackwardOp);

  const T* d_output = dy;  // the gradient of the current layer's h at every step
  for (std::int64_t l = s.layers - 1; l >= 0; --l) {
    const LstmLayerState<T> layer = lstm_layer_state(reserve, s, l);
    const T* input = l == 0 ? x : lstm_layer_state(reserve, s, l - 1).h;
    const std::int64_t in = l == 0 ? z.input : z.hidden;
    const BackwardRecurrence<T> recurrence{lstm_weight<T>(weights, s, l, 1),
                                           d_output,
                                           dh_n + l * z.state,
                                           dc_n + l * z.state,
                                           layer.activated,
                                           layer.c,
                                           c0 + l * z.state,
                                           d_gates,
                                           dh0 + l * z.state,
                                           dc0 + l * z.state,
                                           static_cast<int>(z.steps),
                                           static_cast<int>(z.batch),
                                           static_cast<int>(z.hidden),
                                           plan.weights_in_shared};
    launch_recurrence<BackwardKernel, T>(plan, recurrence, stream, kBackwardOp);

    // Weight gradients over all steps: dW_ih = d_gates^T @ input; dW_hh =
    // sum over t of d_gates[t]^T @ h[t - 1], h[-1] being h0.
    const std::int64_t first = l * (s.bias ? 4 : 2);
    T* dw_ih = static_cast<T*>(weight_grads[first].data);
    T* dw_hh = static_cast<T*>(weight_grads[first + 1].data);
    gemm(dw_ih, d_gates, transposed(gates), input, row_major(in), gates, in, z.rows, false, stream, kBackwardOp);
    gemm(dw_hh, d_gates, transposed(gates), h0 + l * z.state, row_major(z.hidden), gates, z.hidden, z.batch, false,
         stream, kBackwardOp);
    if (z.steps > 1) {
      gemm(dw_hh, d_gates + z.batch * gates, transposed(gates), layer.h, row_major(z.hidden), gates, z.hidden,
           (z.steps - 1) * z.batch, true, stream, kBackwardOp);
    }
    if (s.bias) {
      // Both biases enter every gate alike, so their gradients are equal.
      TensorArg rows_arg{d_gates, dtype_of_v<T>, 2, {z.rows, gates}, {gates, 1}};
      TensorArg sum_arg{weight_grads[first + 2].data, dtype_of_v<T>, 2, {1, gates}, {gates, 1}};
      cuda::sum_into<T>(sum_arg, rows_arg, ctx);
      copy_device(static_cast<T*>(weight_grads[first + 3].data), static_cast<const T*>(sum_arg.data), gates, stream,
                  kBackwardOp);
    }
    // The input's gradient: dx for layer 0, else the layer below's output
    // gradient (d_below is read by this layer's recurrence above, then rewritten).
    gemm(l == 0 ? dx : d_below, d_gates, row_major(gates), lstm_weight<T>(weights, s, l, 0), row_major(in), z.rows, in,
         gates, false, stream, kBackwardOp);
    d_output = d_below;
  }
}

// Hidden sizes whose per-sequence tiles fit the shared memory every device
// gives a block (the weights go there only where they fit too). Reads the
// hidden size only, as lstm_sequence_implementations expects.
template <class Params, class T>
bool supports_shape(const void* params, const TensorArg*, int) {
  return lstm_recurrence_fits(static_cast<const Params*>(params)->shape.hidden_size, sizeof(T));
}

template <class T>
void register_for(KernelRegistry& registry) {
  // Below cuDNN (priority 0): `vendor` and plain calls keep cuDNN's RNN.
  registry.add(make_kernel<LstmSequenceParams, &lstm_sequence_cuda<T>>(DeviceType::CUDA, dtype_of_v<T>, "cuda.hand",
                                                                       -1, &supports_shape<LstmSequenceParams, T>));
  registry.add(make_kernel<LstmSequenceBackwardParams, &lstm_sequence_backward_cuda<T>>(
      DeviceType::CUDA, dtype_of_v<T>, "cuda.hand", -1, &supports_shape<LstmSequenceBackwardParams, T>));
}

}  // namespace

void register_cuda_lstm_sequence(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<double>(registry);
}

}  // namespace redes

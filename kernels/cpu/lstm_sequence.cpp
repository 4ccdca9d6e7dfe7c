// The whole-sequence LSTM on the CPU (the ops of kernels/lstm_sequence_params.h,
// which cuDNN implements on CUDA): all layers and steps in one kernel call,
// so a training step pays for one op and one autograd node instead of a
// dozen per time step.
//
// Forward, per layer: one GEMM projects every step's input at once (both
// biases folded in); each step then adds h_prev @ W_hh^T into its gates with
// the GEMM's beta = 1 and runs the cell (kernels/cpu/lstm_rows.h).
// Backward, per layer from the top: the steps run in reverse, each adding
// the next step's d_gates @ W_hh to dh; the weight gradients and the input
// gradient are then one GEMM each over all steps, as cuDNN does.
//
// Reserve (training): the hand kernels' layout (kernels/lstm_sequence_params.h),
// which the backward call reads.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/lstm_rows.h"
#include "kernels/cpu/widened.h"
#include "kernels/lstm_sequence_params.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using cpu::gemm;

constexpr const char* kOp = LstmSequenceParams::op;

// The sizes every loop below uses, checked against the BLAS int limit once.
struct Sizes {
  std::int64_t steps, batch, hidden, rows;  // rows = steps * batch
  int n, h, gates, all_rows;                // batch, hidden, 4 * hidden, rows as BLAS ints

  explicit Sizes(const LstmSequenceShape& s)
      : steps(s.steps),
        batch(s.batch),
        hidden(s.hidden_size),
        rows(s.steps * s.batch),
        n(cpu::blas_int(s.batch, kOp)),
        h(cpu::blas_int(s.hidden_size, kOp)),
        gates(cpu::blas_int(4 * s.hidden_size, kOp)),
        all_rows(cpu::blas_int(s.steps * s.batch, kOp)) {}
};

template <class T>
T* scratch(const ExecContext& ctx, std::int64_t elements) {
  return workspace_elements<T>(ctx, elements, kOp);
}

// args: y (T, N, H), h_n, c_n (L, N, H), x (T, N, F), h0, c0, weights.
template <class T>
void lstm_sequence_cpu(const LstmSequenceParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  const LstmSequenceShape& s = p.shape;
  const Sizes z(s);
  const auto [y, h_n, c_n, x, h0, c0, weights] = lstm_sequence_args<T>(args);
  const std::int64_t state = z.batch * z.hidden;
  if (z.rows == 0) {  // no steps or no sequences: the final state is the initial one
    std::copy(h0, h0 + s.layers * state, h_n);
    std::copy(c0, c0 + s.layers * state, c_n);
    return;
  }
  const std::int64_t reserve_elements = s.layers * lstm_layer_reserve_elements(s);
  T* reserve = p.reserve != nullptr
                   ? static_cast<T*>(p.reserve->request(static_cast<std::size_t>(reserve_elements) * sizeof(T)))
                   : scratch<T>(ctx, reserve_elements);
  T* gates = scratch<T>(ctx, z.rows * 4 * z.hidden);
  std::vector<T> bias(static_cast<std::size_t>(4 * z.hidden));

  const T* input = x;
  std::int64_t in = s.input_size;
  for (std::int64_t l = 0; l < s.layers; ++l) {
    const LstmLayerState<T> layer = lstm_layer_state(reserve, s, l);
    const T* w_hh = lstm_weight<T>(weights, s, l, 1);
    const int in_int = cpu::blas_int(in, kOp);
    gemm<T>(CblasNoTrans, CblasTrans, z.all_rows, z.gates, in_int, input, in_int, lstm_weight<T>(weights, s, l, 0),
            in_int, T(0), gates, z.gates);
    if (s.bias) {
      const T* b_ih = lstm_weight<T>(weights, s, l, 2);
      const T* b_hh = lstm_weight<T>(weights, s, l, 3);
      for (std::int64_t j = 0; j < 4 * z.hidden; ++j) bias[static_cast<std::size_t>(j)] = b_ih[j] + b_hh[j];
      for (std::int64_t r = 0; r < z.rows; ++r) {
        T* row = gates + r * 4 * z.hidden;
        for (std::int64_t j = 0; j < 4 * z.hidden; ++j) row[j] += bias[static_cast<std::size_t>(j)];
      }
    }
    for (std::int64_t t = 0; t < z.steps; ++t) {
      T* step_gates = gates + t * z.batch * 4 * z.hidden;
      const T* h_prev = t == 0 ? h0 + l * state : layer.h + (t - 1) * state;
      const T* c_prev = t == 0 ? c0 + l * state : layer.c + (t - 1) * state;
      gemm<T>(CblasNoTrans, CblasTrans, z.n, z.gates, z.h, h_prev, z.h, w_hh, z.h, T(1), step_gates, z.gates);
      cpu::lstm_step_forward<T>({.rows = z.batch,
                                 .hidden = z.hidden,
                                 .state_stride = z.hidden,
                                 .gates = step_gates,
                                 .c_prev = c_prev,
                                 .activated = layer.activated + t * z.batch * 4 * z.hidden,
                                 .h = layer.h + t * state,
                                 .c = layer.c + t * state});
    }
    std::copy(layer.h + (z.steps - 1) * state, layer.h + z.steps * state, h_n + l * state);
    std::copy(layer.c + (z.steps - 1) * state, layer.c + z.steps * state, c_n + l * state);
    input = layer.h;
    in = z.hidden;
  }
  std::copy(input, input + z.rows * z.hidden, y);
}

// args: dx (T, N, F), dh0, dc0 (L, N, H), one gradient per weight, then y,
// dy, dh_n, dc_n, x, h0, c0, reserve, then the weights.
template <class T>
void lstm_sequence_backward_cpu(const LstmSequenceBackwardParams& p, const TensorArg* args, int,
                                const ExecContext& ctx) {
  const LstmSequenceShape& s = p.shape;
  const Sizes z(s);
  const std::int64_t weight_count = lstm_sequence_weight_count(s);
  const auto [dx, dh0, dc0, weight_grads, dy, dh_n, dc_n, x, h0, c0, reserve, weights] =
      lstm_sequence_backward_args<T>(s, args);
  const std::int64_t state = z.batch * z.hidden;
  if (z.rows == 0) {  // the final state is the initial one; nothing reaches the weights
    std::copy(dh_n, dh_n + s.layers * state, dh0);
    std::copy(dc_n, dc_n + s.layers * state, dc0);
    for (std::int64_t w = 0; w < weight_count; ++w) {
      T* grad = static_cast<T*>(weight_grads[w].data);
      std::fill(grad, grad + weight_grads[w].numel(), T(0));
    }
    return;
  }
  T* d_gates = scratch<T>(ctx, z.rows * 4 * z.hidden);
  T* d_below = s.layers > 1 ? scratch<T>(ctx, z.rows * z.hidden) : nullptr;  // dL/d(layer l's output), l < L-1
  T* dh = scratch<T>(ctx, state);
  T* dc = scratch<T>(ctx, state);
  T* dc_prev = scratch<T>(ctx, state);
  std::vector<double> bias_sum(static_cast<std::size_t>(4 * z.hidden));

  const T* d_output = dy;  // the gradient of the current layer's h at every step
  for (std::int64_t l = s.layers - 1; l >= 0; --l) {
    const LstmLayerState<T> layer = lstm_layer_state(reserve, s, l);
    const T* input = l == 0 ? x : lstm_layer_state(reserve, s, l - 1).h;
    const std::int64_t in = l == 0 ? s.input_size : z.hidden;
    const int in_int = cpu::blas_int(in, kOp);
    const T* w_ih = lstm_weight<T>(weights, s, l, 0);
    const T* w_hh = lstm_weight<T>(weights, s, l, 1);
    std::copy(dc_n + l * state, dc_n + (l + 1) * state, dc);
    for (std::int64_t t = z.steps - 1; t >= 0; --t) {
      const T* d_step_output = d_output + t * state;
      std::copy(d_step_output, d_step_output + state, dh);
      if (t == z.steps - 1) {
        for (std::int64_t i = 0; i < state; ++i) dh[i] += dh_n[l * state + i];
      } else {
        gemm<T>(CblasNoTrans, CblasNoTrans, z.n, z.h, z.gates, d_gates + (t + 1) * z.batch * 4 * z.hidden, z.gates,
                w_hh, z.h, T(1), dh, z.h);
      }
      cpu::lstm_step_backward<T>({.rows = z.batch,
                                  .hidden = z.hidden,
                                  .state_stride = z.hidden,
                                  .dh = dh,
                                  .dc = dc,
                                  .activated = layer.activated + t * z.batch * 4 * z.hidden,
                                  .c_prev = t == 0 ? c0 + l * state : layer.c + (t - 1) * state,
                                  .c = layer.c + t * state,
                                  .d_gates = d_gates + t * z.batch * 4 * z.hidden,
                                  .dc_prev = dc_prev});
      std::swap(dc, dc_prev);
    }
    std::copy(dc, dc + state, dc0 + l * state);
    gemm<T>(CblasNoTrans, CblasNoTrans, z.n, z.h, z.gates, d_gates, z.gates, w_hh, z.h, T(0), dh0 + l * state, z.h);

    // Weight gradients over all steps: dW_ih = d_gates^T @ input; dW_hh =
    // sum over t of d_gates[t]^T @ h[t - 1], h[-1] being h0.
    const std::int64_t first = l * (s.bias ? 4 : 2);
    T* dw_ih = static_cast<T*>(weight_grads[first].data);
    T* dw_hh = static_cast<T*>(weight_grads[first + 1].data);
    gemm<T>(CblasTrans, CblasNoTrans, z.gates, in_int, z.all_rows, d_gates, z.gates, input, in_int, T(0), dw_ih,
            in_int);
    gemm<T>(CblasTrans, CblasNoTrans, z.gates, z.h, z.n, d_gates, z.gates, h0 + l * state, z.h, T(0), dw_hh, z.h);
    if (z.steps > 1) {
      gemm<T>(CblasTrans, CblasNoTrans, z.gates, z.h, cpu::blas_int((z.steps - 1) * z.batch, kOp),
              d_gates + z.batch * 4 * z.hidden, z.gates, layer.h, z.h, T(1), dw_hh, z.h);
    }
    if (s.bias) {
      std::fill(bias_sum.begin(), bias_sum.end(), 0.0);
      for (std::int64_t r = 0; r < z.rows; ++r) {
        const T* row = d_gates + r * 4 * z.hidden;
        for (std::int64_t j = 0; j < 4 * z.hidden; ++j) bias_sum[static_cast<std::size_t>(j)] += static_cast<double>(row[j]);
      }
      T* db_ih = static_cast<T*>(weight_grads[first + 2].data);
      T* db_hh = static_cast<T*>(weight_grads[first + 3].data);
      for (std::int64_t j = 0; j < 4 * z.hidden; ++j) {
        db_ih[j] = db_hh[j] = static_cast<T>(bias_sum[static_cast<std::size_t>(j)]);
      }
    }
    // The input's gradient: dx for layer 0, else the layer below's output
    // gradient (d_below is read by this layer's loop above, then rewritten).
    gemm<T>(CblasNoTrans, CblasNoTrans, z.all_rows, in_int, z.gates, d_gates, z.gates, w_ih, in_int, T(0),
            l == 0 ? dx : d_below, in_int);
    d_output = d_below;
  }
}

// 16-bit sequences run the float32 kernels on float32 copies
// (kernels/cpu/widened.h); the reserve is the float32 kernel's. The forward
// writes y, h_n and c_n; the backward dx, dh0, dc0 and every weight gradient.
void lstm_sequence_widened(const LstmSequenceParams& p, const TensorArg* args, int nargs, const ExecContext& ctx) {
  run_widened(&lstm_sequence_cpu<float>, p, args, nargs, 3, ctx, &cpu::convert_widening);
}

void lstm_sequence_backward_widened(const LstmSequenceBackwardParams& p, const TensorArg* args, int nargs,
                                    const ExecContext& ctx) {
  const int outputs = 3 + static_cast<int>(lstm_sequence_weight_count(p.shape));
  run_widened(&lstm_sequence_backward_cpu<float>, p, args, nargs, outputs, ctx, &cpu::convert_widening);
}

}  // namespace

void register_cpu_lstm_sequence(KernelRegistry& registry) {
  for (DType dtype : {kBFloat16, kFloat16}) {
    registry.add(make_kernel<LstmSequenceParams, &lstm_sequence_widened>(DeviceType::CPU, dtype, "cpu"));
    registry.add(
        make_kernel<LstmSequenceBackwardParams, &lstm_sequence_backward_widened>(DeviceType::CPU, dtype, "cpu"));
  }
  registry.add(make_kernel<LstmSequenceParams, &lstm_sequence_cpu<float>>(DeviceType::CPU, kFloat32, "cpu"));
  registry.add(make_kernel<LstmSequenceParams, &lstm_sequence_cpu<double>>(DeviceType::CPU, kFloat64, "cpu"));
  registry.add(make_kernel<LstmSequenceBackwardParams, &lstm_sequence_backward_cpu<float>>(DeviceType::CPU, kFloat32,
                                                                                           "cpu"));
  registry.add(make_kernel<LstmSequenceBackwardParams, &lstm_sequence_backward_cpu<double>>(DeviceType::CPU,
                                                                                            kFloat64, "cpu"));
}

}  // namespace redes

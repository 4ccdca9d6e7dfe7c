// The whole-sequence LSTM through oneDNN's LSTM primitives, in float32 and
// bfloat16: one forward and one backward primitive per layer (oneDNN stacks
// layers in one primitive only when they share an input size). The module
// keeps PyTorch's layout, which is oneDNN's ldgoi for weights (gate order i,
// f, g, o in both); oneDNN packs the weights into its own layout inside the op
// (a reorder per call, cached as a primitive per shape). oneDNN has one bias
// per gate, so b_ih + b_hh go in as one, and its gradient is both biases'
// gradient.
//
// In bfloat16, sequences, h states and weights are bfloat16, while the cell
// state, the bias and every gradient oneDNN computes stay float32 (the types
// its bfloat16 LSTM takes): the kernel converts c0, dy, dh_n and dc_n to
// float32 copies, and rounds c_n and the gradients into the caller's tensors.
//
// Reserve (training), per layer: the layer's output (T, N, H), its final h
// (N, H) in the element type, its final c (N, H) in float32 and oneDNN's
// workspace, in that order, 64-byte aligned.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/convert_16bit.h"
#include "kernels/lstm_sequence_params.h"
#include "kernels/onednn/onednn.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

constexpr const char* kOp = LstmSequenceParams::op;

template <class T>
constexpr DataType data_type_of() {
  return std::is_same_v<T, float> ? DataType::f32 : DataType::bf16;
}

// The memory descriptors of one layer with input size `in` and element type
// `type`, as redes holds the tensors: tnc sequences, ldnc states, ldgoi
// weights (PyTorch's (4H, in)), ldgo bias. Cell states, the bias and the
// gradients (`diff_*`) are float32 in both types.
struct LayerDescs {
  memory::desc sequence_in, sequence_out, state, cell, weights_layer, weights_iter, bias;
  memory::desc diff_sequence_in, diff_sequence_out, diff_state, diff_weights_layer, diff_weights_iter;

  LayerDescs(const LstmSequenceShape& s, std::int64_t in, DataType type)
      : sequence_in({s.steps, s.batch, in}, type, Tag::tnc),
        sequence_out({s.steps, s.batch, s.hidden_size}, type, Tag::tnc),
        state({1, 1, s.batch, s.hidden_size}, type, Tag::ldnc),
        cell({1, 1, s.batch, s.hidden_size}, DataType::f32, Tag::ldnc),
        weights_layer({1, 1, in, 4, s.hidden_size}, type, Tag::ldgoi),
        weights_iter({1, 1, s.hidden_size, 4, s.hidden_size}, type, Tag::ldgoi),
        bias({1, 1, 4, s.hidden_size}, DataType::f32, Tag::ldgo),
        diff_sequence_in({s.steps, s.batch, in}, DataType::f32, Tag::tnc),
        diff_sequence_out({s.steps, s.batch, s.hidden_size}, DataType::f32, Tag::tnc),
        diff_state(cell),
        diff_weights_layer({1, 1, in, 4, s.hidden_size}, DataType::f32, Tag::ldgoi),
        diff_weights_iter({1, 1, s.hidden_size, 4, s.hidden_size}, DataType::f32, Tag::ldgoi) {}
};

// The same descriptor with the layout left to oneDNN.
memory::desc any(const memory::desc& d) { return {d.dims(), d.data_type(), Tag::any}; }

std::string shape_key(const char* what, const LstmSequenceShape& s, std::int64_t in, DataType type) {
  return std::string(what) + " " + std::to_string(s.steps) + " " + std::to_string(s.batch) + " " +
         std::to_string(in) + " " + std::to_string(s.hidden_size) + " " + std::to_string(static_cast<int>(type));
}

dnnl::lstm_forward::primitive_desc forward_pd(const LayerDescs& d, bool training) {
  const dnnl::lstm_forward::desc desc(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
      dnnl::rnn_direction::unidirectional_left2right, d.sequence_in, d.state, d.cell, any(d.weights_layer),
      any(d.weights_iter), any(d.bias), d.sequence_out, d.state, d.cell);
  return {desc, onednn::user_scratchpad(), onednn::engine()};
}

// The operands both primitives take first: src_layer, src_iter, src_iter_c,
// weights_layer, weights_iter, bias.
template <class PrimitiveDesc>
std::vector<onednn::Operand> source_operands(const LayerDescs& d, const PrimitiveDesc& pd) {
  return {onednn::input(DNNL_ARG_SRC_LAYER, d.sequence_in, pd.src_layer_desc()),
          onednn::input(DNNL_ARG_SRC_ITER, d.state, pd.src_iter_desc()),
          onednn::input(DNNL_ARG_SRC_ITER_C, d.cell, pd.src_iter_c_desc()),
          onednn::input(DNNL_ARG_WEIGHTS_LAYER, d.weights_layer, pd.weights_layer_desc()),
          onednn::input(DNNL_ARG_WEIGHTS_ITER, d.weights_iter, pd.weights_iter_desc()),
          onednn::input(DNNL_ARG_BIAS, d.bias, pd.bias_desc())};
}

// Operands: the source operands, then the outputs dst_layer, dst_iter,
// dst_iter_c[, workspace].
onednn::Prepared prepare_forward(const LayerDescs& d, bool training) {
  const auto pd = forward_pd(d, training);
  onednn::Prepared p{dnnl::lstm_forward(pd), pd.scratchpad_desc(), source_operands(d, pd)};
  p.operands.insert(p.operands.end(), {onednn::output(DNNL_ARG_DST_LAYER, d.sequence_out, pd.dst_layer_desc()),
                                       onednn::output(DNNL_ARG_DST_ITER, d.state, pd.dst_iter_desc()),
                                       onednn::output(DNNL_ARG_DST_ITER_C, d.cell, pd.dst_iter_c_desc())});
  if (training) {
    p.operands.push_back(onednn::output(DNNL_ARG_WORKSPACE, pd.workspace_desc(), pd.workspace_desc()));
  }
  return p;
}

// Operands: the source operands, dst_layer, dst_iter, dst_iter_c, workspace,
// diff_dst_layer, diff_dst_iter, diff_dst_iter_c, then the outputs diff_src_layer,
// diff_src_iter, diff_src_iter_c, diff_weights_layer, diff_weights_iter,
// diff_bias.
onednn::Prepared prepare_backward(const LayerDescs& d) {
  const dnnl::lstm_backward::desc desc(dnnl::prop_kind::backward, dnnl::rnn_direction::unidirectional_left2right,
                                       d.sequence_in, d.state, d.cell, any(d.weights_layer), any(d.weights_iter),
                                       any(d.bias), d.sequence_out, d.state, d.cell, d.diff_sequence_in, d.diff_state,
                                       d.diff_state, any(d.diff_weights_layer), any(d.diff_weights_iter), any(d.bias),
                                       d.diff_sequence_out, d.diff_state, d.diff_state);
  const dnnl::lstm_backward::primitive_desc pd(desc, onednn::user_scratchpad(), onednn::engine(), forward_pd(d, true));
  onednn::Prepared p{dnnl::lstm_backward(pd), pd.scratchpad_desc(), source_operands(d, pd)};
  p.operands.insert(
      p.operands.end(),
      {onednn::input(DNNL_ARG_DST_LAYER, d.sequence_out, pd.dst_layer_desc()),
       onednn::input(DNNL_ARG_DST_ITER, d.state, pd.dst_iter_desc()),
       onednn::input(DNNL_ARG_DST_ITER_C, d.cell, pd.dst_iter_c_desc()),
       onednn::input(DNNL_ARG_WORKSPACE, pd.workspace_desc(), pd.workspace_desc()),
       onednn::input(DNNL_ARG_DIFF_DST_LAYER, d.diff_sequence_out, pd.diff_dst_layer_desc()),
       onednn::input(DNNL_ARG_DIFF_DST_ITER, d.diff_state, pd.diff_dst_iter_desc()),
       onednn::input(DNNL_ARG_DIFF_DST_ITER_C, d.diff_state, pd.diff_dst_iter_c_desc()),
       onednn::output(DNNL_ARG_DIFF_SRC_LAYER, d.diff_sequence_in, pd.diff_src_layer_desc()),
       onednn::output(DNNL_ARG_DIFF_SRC_ITER, d.diff_state, pd.diff_src_iter_desc()),
       onednn::output(DNNL_ARG_DIFF_SRC_ITER_C, d.diff_state, pd.diff_src_iter_c_desc()),
       onednn::accumulated_output(DNNL_ARG_DIFF_WEIGHTS_LAYER, d.diff_weights_layer, pd.diff_weights_layer_desc()),
       onednn::accumulated_output(DNNL_ARG_DIFF_WEIGHTS_ITER, d.diff_weights_iter, pd.diff_weights_iter_desc()),
       onednn::accumulated_output(DNNL_ARG_DIFF_BIAS, d.bias, pd.diff_bias_desc())});
  return p;
}

std::int64_t layer_input_size(const LstmSequenceShape& s, std::int64_t layer) {
  return layer == 0 ? s.input_size : s.hidden_size;
}

template <class T>
const onednn::Prepared& forward_for(const LstmSequenceShape& s, std::int64_t layer, bool training) {
  const std::int64_t in = layer_input_size(s, layer);
  constexpr DataType type = data_type_of<T>();
  return onednn::cached(shape_key(training ? "lstm forward training" : "lstm forward inference", s, in, type),
                        [&] { return prepare_forward(LayerDescs(s, in, type), training); });
}

template <class T>
const onednn::Prepared& backward_for(const LstmSequenceShape& s, std::int64_t layer) {
  const std::int64_t in = layer_input_size(s, layer);
  constexpr DataType type = data_type_of<T>();
  return onednn::cached(shape_key("lstm backward", s, in, type),
                        [&] { return prepare_backward(LayerDescs(s, in, type)); });
}

std::size_t aligned(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

// n elements of T as float32: the buffer itself for float32, else a float32
// copy in `workspace`.
template <class T>
float* as_float(const T* data, std::int64_t n, Workspace& workspace) {
  if constexpr (std::is_same_v<T, float>) {
    return const_cast<float*>(data);
  } else {
    auto* copy = static_cast<float*>(workspace.request(static_cast<std::size_t>(n) * sizeof(float)));
    cpu::convert_dense(data, copy, n);
    return copy;
  }
}

// Where a float32 result for the n elements of T at `data` is written: there
// for float32, else in `workspace` until store() rounds it into `data`.
template <class T>
float* float_result(T* data, std::int64_t n, Workspace& workspace) {
  if constexpr (std::is_same_v<T, float>) {
    return data;
  } else {
    return static_cast<float*>(workspace.request(static_cast<std::size_t>(n) * sizeof(float)));
  }
}

// Writes n float32 results into `data` (nothing to do where they already are).
template <class T>
void store(const float* result, T* data, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (result != data) std::copy(result, result + n, data);
  } else {
    cpu::convert_dense(result, data, n);
  }
}

// Where one layer's part of the reserve lies.
template <class T>
struct LayerReserve {
  T* output;       // (T, N, H)
  T* h_final;      // (N, H)
  float* c_final;  // (N, H)
  void* workspace;
};

// The reserve's layout: per layer the output, final states and oneDNN's
// workspace (whose size the training forward primitive states).
template <class T>
struct ReservePlan {
  std::vector<std::size_t> offsets;  // per layer, in bytes
  std::size_t total = 0;
  std::size_t output_bytes, h_bytes, c_bytes;

  explicit ReservePlan(const LstmSequenceShape& s)
      : output_bytes(aligned(static_cast<std::size_t>(s.steps * s.batch * s.hidden_size) * sizeof(T))),
        h_bytes(aligned(static_cast<std::size_t>(s.batch * s.hidden_size) * sizeof(T))),
        c_bytes(aligned(static_cast<std::size_t>(s.batch * s.hidden_size) * sizeof(float))) {
    for (std::int64_t l = 0; l < s.layers; ++l) {
      offsets.push_back(total);
      const onednn::Prepared& forward = forward_for<T>(s, l, true);
      total += output_bytes + h_bytes + c_bytes + aligned(forward.operands.back().user.get_size());
    }
  }

  LayerReserve<T> layer(void* reserve, std::int64_t l) const {
    char* base = static_cast<char*>(reserve) + offsets[static_cast<std::size_t>(l)];
    return {reinterpret_cast<T*>(base), reinterpret_cast<T*>(base + output_bytes),
            reinterpret_cast<float*>(base + output_bytes + h_bytes), base + output_bytes + h_bytes + c_bytes};
  }
};

// Weight k (0 w_ih, 1 w_hh, 2 b_ih, 3 b_hh) of `layer`.
template <class T>
T* weight(const TensorArg* weights, const LstmSequenceShape& s, std::int64_t layer, int k) {
  return static_cast<T*>(weights[layer * (s.bias ? 4 : 2) + k].data);
}

// b_ih + b_hh of `layer` in float32 (zeros without bias), in scratch.
template <class T>
float* combined_bias(const TensorArg* weights, const LstmSequenceShape& s, std::int64_t layer, Workspace& workspace) {
  const std::int64_t count = 4 * s.hidden_size;
  auto* bias = static_cast<float*>(workspace.request(static_cast<std::size_t>(count) * sizeof(float)));
  if (!s.bias) {
    std::fill(bias, bias + count, 0.0f);
    return bias;
  }
  const T* b_ih = weight<T>(weights, s, layer, 2);
  const T* b_hh = weight<T>(weights, s, layer, 3);
  for (std::int64_t j = 0; j < count; ++j) bias[j] = static_cast<float>(b_ih[j]) + static_cast<float>(b_hh[j]);
  return bias;
}

// args: y (T, N, H), h_n, c_n (L, N, H), x (T, N, F), h0, c0, weights.
template <class T>
void forward(const LstmSequenceParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(kOp, [&] {
    const LstmSequenceShape& s = p.shape;
    Workspace& scratch = *ctx.workspace;
    const bool training = p.reserve != nullptr;
    auto* h_n = static_cast<T*>(args[1].data);
    auto* c_n = static_cast<T*>(args[2].data);
    auto* h0 = static_cast<T*>(args[4].data);
    const TensorArg* weights = args + 6;
    const std::int64_t state = s.batch * s.hidden_size;
    const std::int64_t sequence = s.steps * state;
    float* c0 = as_float(static_cast<const T*>(args[5].data), s.layers * state, scratch);
    float* c_last = float_result(c_n, s.layers * state, scratch);
    std::optional<ReservePlan<T>> plan;
    void* reserve = nullptr;
    if (training) {
      plan.emplace(s);
      reserve = p.reserve->request(plan->total);
    }
    void* input = args[3].data;
    for (std::int64_t l = 0; l < s.layers; ++l) {
      // The last layer without a reserve writes y directly; every other
      // output goes where the next layer (and the backward pass) reads it.
      T* output = training ? plan->layer(reserve, l).output
                  : l == s.layers - 1
                      ? static_cast<T*>(args[0].data)
                      : static_cast<T*>(scratch.request(static_cast<std::size_t>(sequence) * sizeof(T)));
      std::vector<void*> data{input,
                              h0 + l * state,
                              c0 + l * state,
                              weight<T>(weights, s, l, 0),
                              weight<T>(weights, s, l, 1),
                              combined_bias<T>(weights, s, l, scratch),
                              output,
                              h_n + l * state,
                              c_last + l * state};
      if (training) data.push_back(plan->layer(reserve, l).workspace);
      onednn::run(forward_for<T>(s, l, training), data, scratch);
      if (training) {
        const LayerReserve<T> kept = plan->layer(reserve, l);
        std::copy(h_n + l * state, h_n + (l + 1) * state, kept.h_final);
        std::copy(c_last + l * state, c_last + (l + 1) * state, kept.c_final);
      }
      input = output;
    }
    store(c_last, c_n, s.layers * state);
    if (training) {
      const T* last = static_cast<const T*>(input);
      std::copy(last, last + sequence, static_cast<T*>(args[0].data));
    }
  });
}

// args: dx (T, N, F), dh0, dc0 (L, N, H), one gradient per weight, then y,
// dy, dh_n, dc_n, x, h0, c0, reserve, then the weights.
template <class T>
void backward(const LstmSequenceBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(LstmSequenceBackwardParams::op, [&] {
    const LstmSequenceShape& s = p.shape;
    Workspace& scratch = *ctx.workspace;
    const std::int64_t weight_count = lstm_sequence_weight_count(s);
    const TensorArg* weight_grads = args + 3;
    const TensorArg* after = args + 3 + weight_count;
    const TensorArg* weights = after + 8;
    const std::int64_t state = s.batch * s.hidden_size;
    const std::int64_t states = s.layers * state;
    const std::int64_t sequence = s.steps * state;
    auto* dh0 = static_cast<T*>(args[1].data);
    auto* dc0 = static_cast<T*>(args[2].data);
    float* dh0_result = float_result(dh0, states, scratch);
    float* dc0_result = float_result(dc0, states, scratch);
    const float* dh_n = as_float(static_cast<const T*>(after[2].data), states, scratch);
    const float* dc_n = as_float(static_cast<const T*>(after[3].data), states, scratch);
    auto* h0 = static_cast<T*>(after[5].data);
    float* c0 = as_float(static_cast<const T*>(after[6].data), states, scratch);
    const ReservePlan<T> plan(s);
    void* reserve = after[7].data;
    // The gradient of the current layer's output, and of the layer below's
    // (two float32 buffers, since a layer reads one while it writes the other).
    float* d_output = as_float(static_cast<const T*>(after[1].data), sequence, scratch);
    float* d_below[2] = {nullptr, nullptr};
    if (s.layers > 1) {
      for (float*& buffer : d_below) {
        buffer = static_cast<float*>(scratch.request(static_cast<std::size_t>(sequence) * sizeof(float)));
      }
    }
    auto* dx = static_cast<T*>(args[0].data);
    const std::int64_t dx_count = s.steps * s.batch * s.input_size;
    auto* bias_grad = static_cast<float*>(scratch.request(static_cast<std::size_t>(4 * s.hidden_size) * sizeof(float)));
    for (std::int64_t l = s.layers - 1; l >= 0; --l) {
      const LayerReserve<T> kept = plan.layer(reserve, l);
      void* input = l == 0 ? after[4].data : plan.layer(reserve, l - 1).output;
      float* d_input = l == 0 ? float_result(dx, dx_count, scratch) : d_below[l % 2];
      const std::int64_t first = l * (s.bias ? 4 : 2);
      T* dw_ih = static_cast<T*>(weight_grads[first].data);
      T* dw_hh = static_cast<T*>(weight_grads[first + 1].data);
      const std::int64_t in = layer_input_size(s, l);
      float* dw_ih_result = float_result(dw_ih, 4 * s.hidden_size * in, scratch);
      float* dw_hh_result = float_result(dw_hh, 4 * s.hidden_size * s.hidden_size, scratch);
      onednn::run(backward_for<T>(s, l),
                  {input, h0 + l * state, c0 + l * state, weight<T>(weights, s, l, 0), weight<T>(weights, s, l, 1),
                   combined_bias<T>(weights, s, l, scratch), kept.output, kept.h_final, kept.c_final, kept.workspace,
                   d_output, const_cast<float*>(dh_n + l * state), const_cast<float*>(dc_n + l * state), d_input,
                   dh0_result + l * state, dc0_result + l * state, dw_ih_result, dw_hh_result, bias_grad},
                  scratch);
      store(dw_ih_result, dw_ih, 4 * s.hidden_size * in);
      store(dw_hh_result, dw_hh, 4 * s.hidden_size * s.hidden_size);
      if (s.bias) {
        for (int k : {2, 3}) store(bias_grad, static_cast<T*>(weight_grads[first + k].data), 4 * s.hidden_size);
      }
      if (l == 0) store(d_input, dx, dx_count);
      d_output = d_input;
    }
    store(dh0_result, dh0, states);
    store(dc0_result, dc0, states);
  });
}

// oneDNN refuses empty tensors (the hand kernel handles them), and runs
// bfloat16 only where the CPU has it.
bool supported(const LstmSequenceShape& s, DType dtype) {
  return s.steps > 0 && s.batch > 0 && (dtype != kBFloat16 || onednn::has_bf16());
}

bool supports_forward(const void* params, const TensorArg* args, int) {
  return supported(static_cast<const LstmSequenceParams*>(params)->shape, args[0].dtype);
}

bool supports_backward(const void* params, const TensorArg* args, int) {
  return supported(static_cast<const LstmSequenceBackwardParams*>(params)->shape, args[0].dtype);
}

template <class T>
void register_for(KernelRegistry& registry) {
  registry.add(make_kernel<LstmSequenceParams, &forward<T>>(DeviceType::CPU, dtype_of_v<T>, "onednn", 1,
                                                            &supports_forward));
  registry.add(make_kernel<LstmSequenceBackwardParams, &backward<T>>(DeviceType::CPU, dtype_of_v<T>, "onednn", 1,
                                                                     &supports_backward));
}

}  // namespace

// Priority 1: above the hand kernels, which `hand` still picks.
void register_onednn_lstm_sequence(KernelRegistry& registry) {
  register_for<float>(registry);
  register_for<BFloat16>(registry);
}

}  // namespace redes

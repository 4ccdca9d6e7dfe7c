// The whole-sequence LSTM through oneDNN's LSTM primitives (float32): one
// forward and one backward primitive per layer (oneDNN stacks layers in one
// primitive only when they share an input size). The module keeps PyTorch's
// layout, which is oneDNN's ldgoi for weights (gate order i, f, g, o in both);
// oneDNN packs the weights into its own layout inside the op (a reorder per
// call, cached as a primitive per shape). oneDNN has one bias per gate, so
// b_ih + b_hh go in as one, and its gradient is both biases' gradient.
//
// Reserve (training), per layer: the layer's output (T, N, H), its final h
// and c (N, H each) and oneDNN's workspace, in that order, 64-byte aligned.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/lstm_sequence_params.h"
#include "kernels/onednn/onednn.h"
#include "kernels/registry.h"

namespace redes {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

constexpr const char* kOp = LstmSequenceParams::op;

memory::desc plain(const memory::dims& dims, Tag tag) { return {dims, memory::data_type::f32, tag}; }
memory::desc any(const memory::dims& dims) { return {dims, memory::data_type::f32, Tag::any}; }

// The memory descriptors of one layer with input size `in`, as redes holds
// the tensors: tnc sequences, ldnc states, ldgoi weights (PyTorch's (4H, in)),
// ldgo bias.
struct LayerDescs {
  memory::desc sequence_in, sequence_out, state, weights_layer, weights_iter, bias;

  LayerDescs(const LstmSequenceShape& s, std::int64_t in)
      : sequence_in(plain({s.steps, s.batch, in}, Tag::tnc)),
        sequence_out(plain({s.steps, s.batch, s.hidden_size}, Tag::tnc)),
        state(plain({1, 1, s.batch, s.hidden_size}, Tag::ldnc)),
        weights_layer(plain({1, 1, in, 4, s.hidden_size}, Tag::ldgoi)),
        weights_iter(plain({1, 1, s.hidden_size, 4, s.hidden_size}, Tag::ldgoi)),
        bias(plain({1, 1, 4, s.hidden_size}, Tag::ldgo)) {}
};

std::string shape_key(const char* what, const LstmSequenceShape& s, std::int64_t in) {
  return std::string(what) + " " + std::to_string(s.steps) + " " + std::to_string(s.batch) + " " +
         std::to_string(in) + " " + std::to_string(s.hidden_size);
}

dnnl::lstm_forward::primitive_desc forward_pd(const LstmSequenceShape& s, std::int64_t in, bool training) {
  const LayerDescs d(s, in);
  const dnnl::lstm_forward::desc desc(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
      dnnl::rnn_direction::unidirectional_left2right, d.sequence_in, d.state, d.state, any(d.weights_layer.dims()),
      any(d.weights_iter.dims()), any(d.bias.dims()), d.sequence_out, d.state, d.state);
  return {desc, onednn::user_scratchpad(), onednn::engine()};
}

// Operands: src_layer, src_iter, src_iter_c, weights_layer, weights_iter,
// bias, then the outputs dst_layer, dst_iter, dst_iter_c[, workspace].
onednn::Prepared prepare_forward(const LstmSequenceShape& s, std::int64_t in, bool training) {
  const LayerDescs d(s, in);
  const auto pd = forward_pd(s, in, training);
  onednn::Prepared p{dnnl::lstm_forward(pd), pd.scratchpad_desc(),
                     {onednn::input(DNNL_ARG_SRC_LAYER, d.sequence_in, pd.src_layer_desc()),
                      onednn::input(DNNL_ARG_SRC_ITER, d.state, pd.src_iter_desc()),
                      onednn::input(DNNL_ARG_SRC_ITER_C, d.state, pd.src_iter_c_desc()),
                      onednn::input(DNNL_ARG_WEIGHTS_LAYER, d.weights_layer, pd.weights_layer_desc()),
                      onednn::input(DNNL_ARG_WEIGHTS_ITER, d.weights_iter, pd.weights_iter_desc()),
                      onednn::input(DNNL_ARG_BIAS, d.bias, pd.bias_desc()),
                      onednn::output(DNNL_ARG_DST_LAYER, d.sequence_out, pd.dst_layer_desc()),
                      onednn::output(DNNL_ARG_DST_ITER, d.state, pd.dst_iter_desc()),
                      onednn::output(DNNL_ARG_DST_ITER_C, d.state, pd.dst_iter_c_desc())}};
  if (training) {
    p.operands.push_back(onednn::output(DNNL_ARG_WORKSPACE, pd.workspace_desc(), pd.workspace_desc()));
  }
  return p;
}

// Operands: src_layer, src_iter, src_iter_c, weights_layer, weights_iter,
// bias, dst_layer, dst_iter, dst_iter_c, workspace, diff_dst_layer,
// diff_dst_iter, diff_dst_iter_c, then the outputs diff_src_layer,
// diff_src_iter, diff_src_iter_c, diff_weights_layer, diff_weights_iter,
// diff_bias.
onednn::Prepared prepare_backward(const LstmSequenceShape& s, std::int64_t in) {
  const LayerDescs d(s, in);
  const dnnl::lstm_backward::desc desc(
      dnnl::prop_kind::backward, dnnl::rnn_direction::unidirectional_left2right, d.sequence_in, d.state, d.state,
      any(d.weights_layer.dims()), any(d.weights_iter.dims()), any(d.bias.dims()), d.sequence_out, d.state, d.state,
      d.sequence_in, d.state, d.state, any(d.weights_layer.dims()), any(d.weights_iter.dims()), any(d.bias.dims()),
      d.sequence_out, d.state, d.state);
  const dnnl::lstm_backward::primitive_desc pd(desc, onednn::user_scratchpad(), onednn::engine(),
                                               forward_pd(s, in, true));
  return {dnnl::lstm_backward(pd),
          pd.scratchpad_desc(),
          {onednn::input(DNNL_ARG_SRC_LAYER, d.sequence_in, pd.src_layer_desc()),
           onednn::input(DNNL_ARG_SRC_ITER, d.state, pd.src_iter_desc()),
           onednn::input(DNNL_ARG_SRC_ITER_C, d.state, pd.src_iter_c_desc()),
           onednn::input(DNNL_ARG_WEIGHTS_LAYER, d.weights_layer, pd.weights_layer_desc()),
           onednn::input(DNNL_ARG_WEIGHTS_ITER, d.weights_iter, pd.weights_iter_desc()),
           onednn::input(DNNL_ARG_BIAS, d.bias, pd.bias_desc()),
           onednn::input(DNNL_ARG_DST_LAYER, d.sequence_out, pd.dst_layer_desc()),
           onednn::input(DNNL_ARG_DST_ITER, d.state, pd.dst_iter_desc()),
           onednn::input(DNNL_ARG_DST_ITER_C, d.state, pd.dst_iter_c_desc()),
           onednn::input(DNNL_ARG_WORKSPACE, pd.workspace_desc(), pd.workspace_desc()),
           onednn::input(DNNL_ARG_DIFF_DST_LAYER, d.sequence_out, pd.diff_dst_layer_desc()),
           onednn::input(DNNL_ARG_DIFF_DST_ITER, d.state, pd.diff_dst_iter_desc()),
           onednn::input(DNNL_ARG_DIFF_DST_ITER_C, d.state, pd.diff_dst_iter_c_desc()),
           onednn::output(DNNL_ARG_DIFF_SRC_LAYER, d.sequence_in, pd.diff_src_layer_desc()),
           onednn::output(DNNL_ARG_DIFF_SRC_ITER, d.state, pd.diff_src_iter_desc()),
           onednn::output(DNNL_ARG_DIFF_SRC_ITER_C, d.state, pd.diff_src_iter_c_desc()),
           onednn::accumulated_output(DNNL_ARG_DIFF_WEIGHTS_LAYER, d.weights_layer, pd.diff_weights_layer_desc()),
           onednn::accumulated_output(DNNL_ARG_DIFF_WEIGHTS_ITER, d.weights_iter, pd.diff_weights_iter_desc()),
           onednn::accumulated_output(DNNL_ARG_DIFF_BIAS, d.bias, pd.diff_bias_desc())}};
}

std::int64_t layer_input_size(const LstmSequenceShape& s, std::int64_t layer) {
  return layer == 0 ? s.input_size : s.hidden_size;
}

const onednn::Prepared& forward_for(const LstmSequenceShape& s, std::int64_t layer, bool training) {
  const std::int64_t in = layer_input_size(s, layer);
  return onednn::cached(shape_key(training ? "lstm forward training" : "lstm forward inference", s, in),
                        [&] { return prepare_forward(s, in, training); });
}

const onednn::Prepared& backward_for(const LstmSequenceShape& s, std::int64_t layer) {
  const std::int64_t in = layer_input_size(s, layer);
  return onednn::cached(shape_key("lstm backward", s, in), [&] { return prepare_backward(s, in); });
}

std::size_t aligned(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

// Where one layer's part of the reserve lies.
struct LayerReserve {
  float* output;   // (T, N, H)
  float* h_final;  // (N, H)
  float* c_final;  // (N, H)
  void* workspace;
};

// The reserve's layout: per layer the output, final states and oneDNN's
// workspace (whose size the training forward primitive states).
struct ReservePlan {
  std::vector<std::size_t> offsets;  // per layer, in bytes
  std::size_t total = 0;
  std::size_t output_bytes, state_bytes;

  explicit ReservePlan(const LstmSequenceShape& s)
      : output_bytes(aligned(static_cast<std::size_t>(s.steps * s.batch * s.hidden_size) * sizeof(float))),
        state_bytes(aligned(static_cast<std::size_t>(s.batch * s.hidden_size) * sizeof(float))) {
    for (std::int64_t l = 0; l < s.layers; ++l) {
      offsets.push_back(total);
      const onednn::Prepared& forward = forward_for(s, l, true);
      total += output_bytes + 2 * state_bytes + aligned(forward.operands.back().user.get_size());
    }
  }

  LayerReserve layer(void* reserve, std::int64_t l) const {
    char* base = static_cast<char*>(reserve) + offsets[static_cast<std::size_t>(l)];
    return {reinterpret_cast<float*>(base), reinterpret_cast<float*>(base + output_bytes),
            reinterpret_cast<float*>(base + output_bytes + state_bytes), base + output_bytes + 2 * state_bytes};
  }
};

// Weight k (0 w_ih, 1 w_hh, 2 b_ih, 3 b_hh) of `layer`.
const float* weight(const TensorArg* weights, const LstmSequenceShape& s, std::int64_t layer, int k) {
  return static_cast<const float*>(weights[layer * (s.bias ? 4 : 2) + k].data);
}

// b_ih + b_hh of `layer` (zeros without bias), in scratch.
float* combined_bias(const TensorArg* weights, const LstmSequenceShape& s, std::int64_t layer, Workspace& workspace) {
  const std::int64_t count = 4 * s.hidden_size;
  auto* bias = static_cast<float*>(workspace.request(static_cast<std::size_t>(count) * sizeof(float)));
  if (!s.bias) {
    std::fill(bias, bias + count, 0.0f);
    return bias;
  }
  const float* b_ih = weight(weights, s, layer, 2);
  const float* b_hh = weight(weights, s, layer, 3);
  for (std::int64_t j = 0; j < count; ++j) bias[j] = b_ih[j] + b_hh[j];
  return bias;
}

// args: y (T, N, H), h_n, c_n (L, N, H), x (T, N, F), h0, c0, weights.
void forward(const LstmSequenceParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(kOp, [&] {
    const LstmSequenceShape& s = p.shape;
    const bool training = p.reserve != nullptr;
    auto* h_n = static_cast<float*>(args[1].data);
    auto* c_n = static_cast<float*>(args[2].data);
    auto* h0 = static_cast<float*>(args[4].data);
    auto* c0 = static_cast<float*>(args[5].data);
    const TensorArg* weights = args + 6;
    const std::int64_t state = s.batch * s.hidden_size;
    const std::int64_t sequence = s.steps * state;
    std::optional<ReservePlan> plan;
    void* reserve = nullptr;
    if (training) {
      plan.emplace(s);
      reserve = p.reserve->request(plan->total);
    }
    void* input = args[3].data;
    for (std::int64_t l = 0; l < s.layers; ++l) {
      const onednn::Prepared& prepared = forward_for(s, l, training);
      float* bias = combined_bias(weights, s, l, *ctx.workspace);
      // The last layer without a reserve writes y directly; every other
      // output goes where the next layer (and the backward pass) reads it.
      float* output = training ? plan->layer(reserve, l).output
                      : l == s.layers - 1
                          ? static_cast<float*>(args[0].data)
                          : static_cast<float*>(ctx.workspace->request(static_cast<std::size_t>(sequence) * sizeof(float)));
      std::vector<void*> data{input,
                              h0 + l * state,
                              c0 + l * state,
                              const_cast<float*>(weight(weights, s, l, 0)),
                              const_cast<float*>(weight(weights, s, l, 1)),
                              bias,
                              output,
                              h_n + l * state,
                              c_n + l * state};
      if (training) data.push_back(plan->layer(reserve, l).workspace);
      onednn::run(prepared, data, *ctx.workspace);
      if (training) {
        const LayerReserve kept = plan->layer(reserve, l);
        std::copy(h_n + l * state, h_n + (l + 1) * state, kept.h_final);
        std::copy(c_n + l * state, c_n + (l + 1) * state, kept.c_final);
      }
      input = output;
    }
    if (training) {
      const float* last = static_cast<const float*>(input);
      std::copy(last, last + sequence, static_cast<float*>(args[0].data));
    }
  });
}

// args: dx (T, N, F), dh0, dc0 (L, N, H), one gradient per weight, then y,
// dy, dh_n, dc_n, x, h0, c0, reserve, then the weights.
void backward(const LstmSequenceBackwardParams& p, const TensorArg* args, int, const ExecContext& ctx) {
  onednn::translate_errors(LstmSequenceBackwardParams::op, [&] {
    const LstmSequenceShape& s = p.shape;
    const std::int64_t weight_count = lstm_sequence_weight_count(s);
    const TensorArg* weight_grads = args + 3;
    const TensorArg* after = args + 3 + weight_count;
    const TensorArg* weights = after + 8;
    auto* dh0 = static_cast<float*>(args[1].data);
    auto* dc0 = static_cast<float*>(args[2].data);
    auto* dh_n = static_cast<float*>(after[2].data);
    auto* dc_n = static_cast<float*>(after[3].data);
    auto* h0 = static_cast<float*>(after[5].data);
    auto* c0 = static_cast<float*>(after[6].data);
    const std::int64_t state = s.batch * s.hidden_size;
    const std::size_t sequence_bytes = static_cast<std::size_t>(s.steps * state) * sizeof(float);
    const ReservePlan plan(s);
    void* reserve = after[7].data;
    // The gradient of the current layer's output, and of the layer below's
    // (two buffers, since a layer reads one while it writes the other).
    void* d_output = after[1].data;
    void* d_below[2] = {nullptr, nullptr};
    if (s.layers > 1) {
      d_below[0] = ctx.workspace->request(sequence_bytes);
      d_below[1] = ctx.workspace->request(sequence_bytes);
    }
    auto* bias_grad = static_cast<float*>(ctx.workspace->request(static_cast<std::size_t>(4 * s.hidden_size) * sizeof(float)));
    for (std::int64_t l = s.layers - 1; l >= 0; --l) {
      const LayerReserve kept = plan.layer(reserve, l);
      void* input = l == 0 ? after[4].data : plan.layer(reserve, l - 1).output;
      void* d_input = l == 0 ? args[0].data : d_below[l % 2];
      const std::int64_t first = l * (s.bias ? 4 : 2);
      onednn::run(backward_for(s, l),
                  {input, h0 + l * state, c0 + l * state, const_cast<float*>(weight(weights, s, l, 0)),
                   const_cast<float*>(weight(weights, s, l, 1)), combined_bias(weights, s, l, *ctx.workspace),
                   kept.output, kept.h_final, kept.c_final, kept.workspace, d_output, dh_n + l * state,
                   dc_n + l * state, d_input, dh0 + l * state, dc0 + l * state, weight_grads[first].data,
                   weight_grads[first + 1].data, bias_grad},
                  *ctx.workspace);
      if (s.bias) {
        for (int k : {2, 3}) {
          std::copy(bias_grad, bias_grad + 4 * s.hidden_size, static_cast<float*>(weight_grads[first + k].data));
        }
      }
      d_output = d_input;
    }
  });
}

// oneDNN refuses empty tensors; the hand kernel handles them.
bool supports_nonempty(const void* params, const TensorArg*, int) {
  const LstmSequenceShape& s = static_cast<const LstmSequenceParams*>(params)->shape;
  return s.steps > 0 && s.batch > 0;
}

bool supports_nonempty_backward(const void* params, const TensorArg*, int) {
  const LstmSequenceShape& s = static_cast<const LstmSequenceBackwardParams*>(params)->shape;
  return s.steps > 0 && s.batch > 0;
}

}  // namespace

// Priority 1: above the hand kernel, which `hand` still picks.
void register_onednn_lstm_sequence(KernelRegistry& registry) {
  registry.add(
      make_kernel<LstmSequenceParams, &forward>(DeviceType::CPU, kFloat32, "onednn", 1, &supports_nonempty));
  registry.add(make_kernel<LstmSequenceBackwardParams, &backward>(DeviceType::CPU, kFloat32, "onednn", 1,
                                                                   &supports_nonempty_backward));
}

}  // namespace redes

// lstm_sequence: checks, the forward kernel with the reserve memory its
// backward needs, and a backward rule that returns gradients for the input,
// both initial states and every weight and bias. lstm_layers: the choice
// between it and the per-step cells.
#include "core/ops/lstm_sequence.h"

#include <algorithm>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/ops/path_choice.h"
#include "kernels/kernel_settings.h"
#include "kernels/backend_status.h"
#include "kernels/lstm_sequence_params.h"
#include "kernels/registry.h"
#include "kernels/select.h"

namespace redes::detail {

namespace {

constexpr const char* kOp = "lstm_sequence";

// The forward kernel's reserve: one uint8 tensor on the device, kept by the
// backward rule.
class ReserveTensor final : public Workspace {
 public:
  explicit ReserveTensor(Device device) : device_(device) {}
  void* request(std::size_t bytes) override {
    REDES_CHECK(!tensor.defined(), kOp, ": the kernel asked for reserve memory twice");
    tensor = empty({static_cast<std::int64_t>(bytes)}, {kUInt8, device_});
    return tensor.data_ptr();
  }
  Tensor tensor;

 private:
  Device device_;
};

void expect_shape(const Tensor& t, const Shape& shape, const char* what) {
  REDES_CHECK(t.defined() && t.shape() == shape, kOp, ": expected ", what, " of shape ", shape_str(shape), ", got ",
              t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
}

}  // namespace

std::vector<std::string> lstm_sequence_implementations(Device device, DType dtype, std::int64_t hidden_size) {
  LstmSequenceParams params;
  params.shape = {.steps = 1, .batch = 1, .input_size = hidden_size, .hidden_size = hidden_size};
  TensorArg first;  // what the checks read of the call's tensors: their dtype
  first.dtype = dtype;
  std::vector<std::string> names;
  for (const KernelEntry* entry : KernelRegistry::instance().candidates(kOp, device.type, dtype)) {
    // cuDNN's check needs the whole call; what it depends on here is whether
    // cuDNN loads. The other implementations' checks read only the hidden
    // size and the first tensor's dtype.
    const bool serves = is_cudnn_implementation(entry->name)
                            ? cudnn_unusable_reason().empty()
                            : entry->supports == nullptr || entry->supports(&params, &first, 1);
    if (serves) names.push_back(entry->name);
  }
  return names;
}

bool lstm_sequence_available(Device device, DType dtype, std::int64_t hidden_size) {
  return !lstm_sequence_implementations(device, dtype, hidden_size).empty();
}

LstmSequenceResult lstm_sequence(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                 const std::vector<Tensor>& weights, std::int64_t layers, bool bias,
                                 const std::string& implementation) {
  check_defined(x, kOp, "the input");
  REDES_CHECK(x.dim() == 3, kOp, ": expected an input of shape (T, N, F), got ", shape_str(x.shape()));
  REDES_CHECK(layers > 0 && !weights.empty() && weights[0].defined() && weights[0].dim() == 2, kOp,
              ": expected at least one layer of weights");
  LstmSequenceShape s;
  s.steps = x.size(0);
  s.batch = x.size(1);
  s.input_size = x.size(2);
  s.hidden_size = weights[0].size(0) / 4;
  s.layers = layers;
  s.bias = bias;
  const std::int64_t hidden = s.hidden_size;
  REDES_CHECK(static_cast<std::int64_t>(weights.size()) == lstm_sequence_weight_count(s), kOp, ": expected ",
              lstm_sequence_weight_count(s), " weight tensors for ", layers, " layers", bias ? " with" : " without",
              " bias, got ", weights.size());
  const Shape state{layers, s.batch, hidden};
  expect_shape(h0, state, "h0");
  expect_shape(c0, state, "c0");
  std::vector<const Tensor*> inputs{&x, &h0, &c0};
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const std::int64_t in = layer == 0 ? s.input_size : hidden;
    const std::size_t first = static_cast<std::size_t>(layer * (bias ? 4 : 2));
    expect_shape(weights[first], {4 * hidden, in}, "weight_ih");
    expect_shape(weights[first + 1], {4 * hidden, hidden}, "weight_hh");
    if (bias) {
      expect_shape(weights[first + 2], {4 * hidden}, "bias_ih");
      expect_shape(weights[first + 3], {4 * hidden}, "bias_hh");
    }
  }
  for (const Tensor& w : weights) inputs.push_back(&w);
  std::vector<Tensor> dense;  // x, h0, c0, weights: what the kernels read
  for (const Tensor* t : inputs) {
    REDES_CHECK(t->dtype() == x.dtype(), kOp, ": expected every tensor to be ", dtype_name(x.dtype()), ", got ",
                dtype_name(t->dtype()));
    REDES_CHECK(t->device() == x.device(), kOp, ": expected every tensor on ", x.device().str(), ", got ",
                t->device().str());
    dense.push_back(t->detach().contiguous());
  }

  const TensorOptions like{x.dtype(), x.device()};
  Tensor y = empty({s.steps, s.batch, hidden}, like);
  Tensor h_n = empty(state, like), c_n = empty(state, like);
  bool training = false;
  for (const Tensor* t : inputs) training = training || needs_grad({t});
  ReserveTensor reserve(x.device());
  LstmSequenceParams params{s, training ? &reserve : nullptr};
  std::vector<TensorArg> args{kernel_arg(y, kOp), kernel_arg(h_n, kOp), kernel_arg(c_n, kOp)};
  for (const Tensor& t : dense) args.push_back(kernel_arg(t, kOp));
  // The backward runs the implementation that ran here: the reserve is in its layout.
  std::string ran = implementation;
  if (ran.empty()) {
    ran = run_kernel(kOp, &params, x.device(), x.dtype(), args);
  } else {
    run_kernel_named(ran, kOp, &params, x.device(), x.dtype(), args);
  }
  if (!training) return {y, h_n, c_n, ran};

  // cuDNN may need no reserve at all; the backward call still takes an argument.
  const Tensor reserve_tensor = reserve.tensor.defined() ? reserve.tensor : empty({0}, {kUInt8, x.device()});
  std::vector<Tensor> results{y, h_n, c_n};
  // The rule keeps the outputs' data without their history (no cycle
  // through the node that produces them).
  const Tensor y_data = y.detach();
  record_multi_output_op(
      kOp, results, inputs,
      [s, dense, y_data, reserve_data = reserve_tensor, implementation = ran](const std::vector<Tensor>& grads) {
        const TensorOptions options{y_data.dtype(), y_data.device()};
        const auto grad_or_zeros = [&](std::size_t i, const Shape& shape) {
          return grads[i].defined() ? grads[i].contiguous() : zeros(shape, options);
        };
        const Shape state_shape{s.layers, s.batch, s.hidden_size};
        const Tensor dy = grad_or_zeros(0, y_data.shape());
        const Tensor dh_n = grad_or_zeros(1, state_shape), dc_n = grad_or_zeros(2, state_shape);
        std::vector<Tensor> out{empty(dense[0].shape(), options), empty(state_shape, options),
                                empty(state_shape, options)};
        for (std::size_t i = 3; i < dense.size(); ++i) out.push_back(empty(dense[i].shape(), options));
        std::vector<TensorArg> backward_args;
        for (const Tensor& t : out) backward_args.push_back(kernel_arg(t, "lstm_sequence backward"));
        for (const Tensor* t : {&y_data, &dy, &dh_n, &dc_n, &dense[0], &dense[1], &dense[2], &reserve_data}) {
          backward_args.push_back(kernel_arg(*t, "lstm_sequence backward"));
        }
        for (std::size_t i = 3; i < dense.size(); ++i) {
          backward_args.push_back(kernel_arg(dense[i], "lstm_sequence backward"));
        }
        const LstmSequenceBackwardParams backward_params{s};
        run_kernel_named(implementation, LstmSequenceBackwardParams::op, &backward_params, y_data.device(),
                         y_data.dtype(), backward_args);
        for (Tensor& grad : out) {
          grad = once_differentiable("lstm_sequence", grad, {&dy, &dh_n, &dc_n, &dense[0], &dense[1], &dense[2]});
        }
        return out;
      });
  return {results[0], results[1], results[2], ran};
}

namespace {

// The name of the per-step path among the ways auto times.
constexpr const char* kStepsPath = "cuda.hand.cells";

// Layer by layer: one GEMM for every step's input projection, then per step
// the recurrent GEMM and the fused cell.
LstmSequenceResult run_steps(const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& weights,
                             std::int64_t layers, bool bias) {
  const std::int64_t steps = x.size(0), batch = x.size(1), hidden = h0.size(2);
  const std::size_t per_layer = bias ? 4 : 2;
  Tensor layer_input = x;
  std::vector<Tensor> final_h, final_c;
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const Tensor* w = &weights[static_cast<std::size_t>(layer) * per_layer];
    const Tensor& w_ih = w[0];
    const Tensor& w_hh = w[1];
    const Tensor b_ih = bias ? w[2] : Tensor();
    const Tensor b_hh = bias ? w[3] : Tensor();
    // The input projection of all steps is one GEMM: (T*N, F) @ (F, 4H).
    const std::int64_t features = layer_input.size(2);
    Tensor projected = matmul(layer_input.reshape({steps * batch, features}), w_ih.t());
    if (b_ih.defined()) projected = projected + b_ih;
    const std::vector<Tensor> projected_steps = unbind(projected.reshape({steps, batch, 4 * hidden}), 0);

    LstmState state{h0.select(0, layer), c0.select(0, layer)};
    std::vector<Tensor> outputs;
    outputs.reserve(static_cast<std::size_t>(steps));
    for (std::int64_t t = 0; t < steps; ++t) {
      const Tensor recurrent = b_hh.defined() ? addmm(b_hh, state.h, w_hh.t()) : matmul(state.h, w_hh.t());
      state = lstm_cell_from_gates(projected_steps[static_cast<std::size_t>(t)] + recurrent, state.c);
      outputs.push_back(state.h);
    }
    final_h.push_back(state.h);
    final_c.push_back(state.c);
    layer_input = stack(outputs, 0);
  }
  return {layer_input, stack(final_h, 0), stack(final_c, 0), kStepsPath};
}

// Auto on CUDA: the fastest way for this shape among the per-step cells and
// each implementation of lstm_sequence.
std::string fastest_path(const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& weights,
                         std::int64_t layers, bool bias, const std::vector<std::string>& implementations) {
  std::vector<Tensor> inputs{x, h0, c0};
  inputs.insert(inputs.end(), weights.begin(), weights.end());
  const auto pack = [](const LstmSequenceResult& r) { return std::vector<Tensor>{r.output, r.h_n, r.c_n}; };
  const auto weights_of = [](const std::vector<Tensor>& v) { return std::vector<Tensor>(v.begin() + 3, v.end()); };
  std::vector<ComputePath> paths{{kStepsPath, [=](const std::vector<Tensor>& v) {
                                    return pack(run_steps(v[0], v[1], v[2], weights_of(v), layers, bias));
                                  }}};
  for (const std::string& name : implementations) {
    paths.push_back({name, [=](const std::vector<Tensor>& v) {
                       return pack(lstm_sequence(v[0], v[1], v[2], weights_of(v), layers, bias, name));
                     }});
  }
  std::ostringstream key;
  key << "steps=" << x.size(0) << " batch=" << x.size(1) << " input=" << x.size(2) << " hidden=" << h0.size(2)
      << " layers=" << layers << " bias=" << bias;
  return choose_path("lstm", key.str(), inputs, paths);
}

}  // namespace

LstmSequenceResult lstm_layers(const Tensor& x, const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& weights,
                               std::int64_t layers, bool bias) {
  check_defined(x, "lstm", "the input");
  check_defined(h0, "lstm", "h0");
  REDES_CHECK(x.dim() == 3 && h0.dim() == 3, "lstm: expected an input (T, N, F) and states (L, N, H), got shapes ",
              shape_str(x.shape()), " and ", shape_str(h0.shape()));
  const std::vector<std::string> implementations = lstm_sequence_implementations(x.device(), x.dtype(), h0.size(2));
  const bool hand_sequence = std::any_of(implementations.begin(), implementations.end(),
                                         [](const std::string& name) { return !is_vendor_implementation(name); });
  if (implementations.empty() || (kernel_impl() == KernelImpl::Hand && !hand_sequence)) {
    return run_steps(x, h0, c0, weights, layers, bias);
  }
  if (x.device().is_cpu() || kernel_impl() != KernelImpl::Auto) return lstm_sequence(x, h0, c0, weights, layers, bias);
  const std::string path = fastest_path(x, h0, c0, weights, layers, bias, implementations);
  return path == kStepsPath ? run_steps(x, h0, c0, weights, layers, bias)
                            : lstm_sequence(x, h0, c0, weights, layers, bias, path);
}

}  // namespace redes::detail

#include "core/custom_function.h"

#include <string>

#include "core/ops.h"
#include "core/tensor_impl.h"

namespace redes::autograd {

namespace detail {

// What the node needs to know of a tensor it does not keep.
struct TensorGeometry {
  Shape shape;
  DType dtype;
  Device device;
};

// The node of one Function::apply call: it owns the context, so the saved
// tensors live exactly as long as the graph does.
class CustomFunctionNode final : public Node {
 public:
  CustomFunctionNode(std::shared_ptr<AutogradContext> ctx, std::vector<TensorGeometry> inputs,
                     std::vector<TensorGeometry> outputs, CustomBackward backward)
      : ctx_(std::move(ctx)), inputs_(std::move(inputs)), outputs_(std::move(outputs)),
        backward_(std::move(backward)) {}
  const char* name() const override { return ctx_->name_; }

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    // As torch's default: an output no gradient reached counts as zeros.
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) grads[i] = zeros(outputs_[i].shape, {outputs_[i].dtype, outputs_[i].device});
    }
    const char* op = ctx_->name_;
    std::vector<Tensor> input_grads = backward_(ctx_.get(), std::move(grads));
    REDES_CHECK(input_grads.size() == inputs_.size(), op, " backward returned ", input_grads.size(),
                " gradients; expected one per Tensor argument of forward (", inputs_.size(), ")");
    for (std::size_t i = 0; i < input_grads.size(); ++i) {
      if (!input_grads[i].defined() || !next_edges[i].node) continue;
      REDES_CHECK(input_grads[i].shape() == inputs_[i].shape, op, " backward: gradient ", i, " has shape ",
                  shape_str(input_grads[i].shape()), " but its input has shape ", shape_str(inputs_[i].shape));
    }
    return input_grads;
  }

  void release_saved() override {
    for (SavedTensor& saved : ctx_->saved_) saved.release();
  }

 private:
  std::shared_ptr<AutogradContext> ctx_;
  std::vector<TensorGeometry> inputs_;
  std::vector<TensorGeometry> outputs_;
  CustomBackward backward_;
};

}  // namespace detail

void AutogradContext::save_for_backward(std::vector<Tensor> tensors) { to_save_ = std::move(tensors); }

std::vector<Tensor> AutogradContext::get_saved_variables() const {
  std::vector<Tensor> unpacked;
  if (node_ == nullptr) return to_save_;  // forward without history: nothing was packed
  unpacked.reserve(saved_.size());
  for (const SavedTensor& saved : saved_) unpacked.push_back(saved.unpack(name_, node_));
  return unpacked;
}

bool AutogradContext::needs_input_grad(std::size_t index) const {
  REDES_CHECK(index < needs_input_grad_.size(), name_, ": needs_input_grad(", index, ") but forward has ",
              needs_input_grad_.size(), " Tensor arguments");
  return needs_input_grad_[index];
}

void FunctionRecorder::prepare(AutogradContext& ctx, const char* name, const std::vector<Tensor>& inputs) {
  ctx.name_ = name;
  ctx.needs_input_grad_.clear();
  for (const Tensor& input : inputs) {
    ctx.needs_input_grad_.push_back(is_grad_enabled() && input.defined() && input.requires_grad());
  }
}

void FunctionRecorder::record(const std::shared_ptr<AutogradContext>& ctx, const std::vector<Tensor>& inputs,
                              std::vector<Tensor>& outputs, CustomBackward backward) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    REDES_CHECK(outputs[i].defined(), ctx->name_, ": forward returned an undefined tensor as output ", i);
  }
  bool any_input_needs_grad = false;
  for (const bool needed : ctx->needs_input_grad_) any_input_needs_grad = any_input_needs_grad || needed;
  if (!any_input_needs_grad) return;

  // An output that is an input (returned unchanged) must not take over the
  // input's history: it becomes a new handle on the same data.
  for (Tensor& output : outputs) {
    for (const Tensor& input : inputs) {
      if (input.defined() && output.impl() == input.impl()) output = output.detach();
    }
  }
  std::vector<detail::TensorGeometry> input_geometry, output_geometry;
  for (const Tensor& input : inputs) {
    input_geometry.push_back(input.defined() ? detail::TensorGeometry{input.shape(), input.dtype(), input.device()}
                                             : detail::TensorGeometry{{}, kFloat32, Device::cpu()});
  }
  for (const Tensor& output : outputs) output_geometry.push_back({output.shape(), output.dtype(), output.device()});
  auto node = std::make_shared<detail::CustomFunctionNode>(ctx, std::move(input_geometry), std::move(output_geometry),
                                                           std::move(backward));
  for (const Tensor& input : inputs) node->next_edges.push_back(input.defined() ? gradient_edge(input) : Edge{});
  node->num_outputs = static_cast<std::uint32_t>(outputs.size());

  // A saved output is kept without its history (it would keep a cycle) and
  // re-attached to this node when a create_graph pass unpacks it.
  for (const Tensor& tensor : ctx->to_save_) {
    int output_nr = -1;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (tensor.defined() && tensor.impl() == outputs[i].impl()) output_nr = static_cast<int>(i);
    }
    ctx->saved_.emplace_back(tensor, output_nr);
  }
  ctx->to_save_.clear();
  ctx->node_ = node.get();

  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!is_floating(outputs[i].dtype())) continue;
    AutogradMeta& meta = outputs[i].impl()->autograd_meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
    meta.output_nr = static_cast<std::uint32_t>(i);
  }
}

}  // namespace redes::autograd

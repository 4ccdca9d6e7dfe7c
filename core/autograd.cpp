#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/ops.h"
#include "core/tensor_impl.h"

namespace redes {

// Destroying the last handle to a long chain (an unrolled LSTM, a loop of
// thousands of ops) would recurse once per node and can overflow the stack.
// The outermost destructor instead drains a queue of released children.
Node::~Node() {
  thread_local std::vector<std::shared_ptr<Node>> releasing;
  thread_local bool draining = false;
  for (Edge& edge : next_edges) {
    if (edge.node) releasing.push_back(std::move(edge.node));
  }
  if (draining) return;
  draining = true;
  while (!releasing.empty()) {
    std::shared_ptr<Node> node = std::move(releasing.back());
    releasing.pop_back();
    node.reset();  // if this was the last handle, its destructor queues its children
  }
  draining = false;
}

namespace {

thread_local bool grad_mode_enabled = true;

// The node that adds a leaf's incoming gradient into leaf.grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }

  std::vector<Tensor> apply(std::vector<Tensor> grads) override {
    Tensor incoming = std::move(grads[0]);
    REDES_CHECK(incoming.shape() == leaf_->shape, "backward: gradient of shape ",
                shape_str(incoming.shape()), " reached a leaf of shape ", shape_str(leaf_->shape));
    AutogradMeta& meta = leaf_->autograd_meta();
    if (!meta.grad) {
      // Keep the incoming buffer when nobody else can see it; otherwise copy,
      // so that later in-place accumulation never writes into a user's tensor.
      const bool private_buffer = incoming.impl_ptr().use_count() == 1 &&
                                  incoming.impl()->storage.use_count() == 1 &&
                                  incoming.is_contiguous() && incoming.dtype() == leaf_->dtype;
      meta.grad = private_buffer ? incoming.impl_ptr() : incoming.to(leaf_->dtype).clone().impl_ptr();
    } else {
      Tensor(meta.grad).add_(incoming);
    }
    return {};
  }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// A recorded single-output op whose backward rule is a function.
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::vector<Tensor> saved, BackwardFn backward)
      : name_(name), backward_(std::move(backward)) {
    saved_.reserve(saved.size());
    for (const Tensor& tensor : saved) saved_.emplace_back(tensor);
  }
  const char* name() const override { return name_; }

  std::vector<Tensor> apply(std::vector<Tensor> grads) override {
    std::vector<Tensor> unpacked;
    unpacked.reserve(saved_.size());
    for (const SavedTensor& saved : saved_) unpacked.push_back(saved.unpack(name_));
    std::vector<Tensor> input_grads = backward_(grads[0], unpacked);
    REDES_CHECK(input_grads.size() == next_edges.size(), name_, " backward returned ",
                input_grads.size(), " gradients for ", next_edges.size(), " inputs");
    return input_grads;
  }

  void release_saved() override {
    for (SavedTensor& saved : saved_) saved.release();
  }

 private:
  const char* name_;
  std::vector<SavedTensor> saved_;
  BackwardFn backward_;
};

// A recorded op with several outputs and no saved tensors (e.g. unbind).
class MultiOutputNode final : public Node {
 public:
  MultiOutputNode(const char* name, MultiBackwardFn backward) : name_(name), backward_(std::move(backward)) {}
  const char* name() const override { return name_; }

  std::vector<Tensor> apply(std::vector<Tensor> grads) override {
    std::vector<Tensor> input_grads = backward_(grads);
    REDES_CHECK(input_grads.size() == next_edges.size(), name_, " backward returned ", input_grads.size(),
                " gradients for ", next_edges.size(), " inputs");
    return input_grads;
  }

 private:
  const char* name_;
  MultiBackwardFn backward_;
};

Edge gradient_edge(const Tensor& tensor) {
  AutogradMeta* meta = tensor.impl()->autograd.get();
  if (meta == nullptr || !meta->requires_grad) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  std::shared_ptr<Node> accumulator = meta->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(tensor.impl_ptr());
    meta->grad_accumulator = accumulator;
  }
  return {accumulator, 0};
}

}  // namespace

bool is_grad_enabled() { return grad_mode_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_mode_enabled) { grad_mode_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_mode_enabled = previous_; }

SavedTensor::SavedTensor(const Tensor& tensor)
    : data_(tensor.defined() ? tensor.detach() : Tensor()),
      version_(tensor.defined() ? tensor.version() : 0) {}

Tensor SavedTensor::unpack(const char* op) const {
  REDES_CHECK(!released_, op,
              " backward: the tensors saved for backward were already freed by an earlier "
              "backward pass; call backward(gradient, /*retain_graph=*/true) to backward twice");
  REDES_CHECK(!data_.defined() || data_.version() == version_, op,
              " backward: a tensor saved for backward was modified in place (saved at version ",
              version_, ", now at version ", data_.defined() ? data_.version() : 0,
              "); clone it before modifying it, or modify it after backward()");
  return data_;
}

void SavedTensor::release() {
  data_ = Tensor();
  released_ = true;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode_enabled) return false;
  for (const Tensor* input : inputs) {
    if (input != nullptr && input->defined() && input->requires_grad()) return true;
  }
  return false;
}

void record_op(const char* name, Tensor& result, std::initializer_list<const Tensor*> inputs,
               std::vector<Tensor> saved, BackwardFn backward) {
  record_op(name, result, std::vector<const Tensor*>(inputs), std::move(saved), std::move(backward));
}

void record_op(const char* name, Tensor& result, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor> saved, BackwardFn backward) {
  auto node = std::make_shared<FunctionNode>(name, std::move(saved), std::move(backward));
  node->next_edges.reserve(inputs.size());
  for (const Tensor* input : inputs) {
    node->next_edges.push_back(input != nullptr && input->defined() ? gradient_edge(*input) : Edge{});
  }
  AutogradMeta& meta = result.impl()->autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
}

void record_multi_output_op(const char* name, std::vector<Tensor>& results, const std::vector<const Tensor*>& inputs,
                            MultiBackwardFn backward) {
  auto node = std::make_shared<MultiOutputNode>(name, std::move(backward));
  node->num_outputs = static_cast<std::uint32_t>(results.size());
  for (const Tensor* input : inputs) {
    node->next_edges.push_back(input != nullptr && input->defined() ? gradient_edge(*input) : Edge{});
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    AutogradMeta& meta = results[i].impl()->autograd_meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
    meta.output_nr = static_cast<std::uint32_t>(i);
  }
}

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  const Edge root_edge = gradient_edge(root);
  REDES_CHECK(root_edge.node != nullptr,
              "backward: the tensor does not require grad and has no grad_fn (did you forget "
              "requires_grad_() on a leaf, or run the forward pass under NoGradGuard?)");

  // Count, for every node reachable from the root, how many edges lead to it,
  // so a node runs only once all of its output gradients have arrived.
  std::unordered_map<Node*, int> pending;
  std::unordered_set<Node*> seen{root_edge.node.get()};
  std::vector<Node*> stack{root_edge.node.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->next_edges) {
      if (!edge.node) continue;
      ++pending[edge.node.get()];
      if (seen.insert(edge.node.get()).second) stack.push_back(edge.node.get());
    }
  }

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  buffers[root_edge.node.get()].resize(root_edge.node->num_outputs);
  buffers[root_edge.node.get()][root_edge.input_nr] = grad;

  NoGradGuard no_grad;
  std::vector<std::shared_ptr<Node>> ready{root_edge.node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    auto buffer = buffers.extract(node.get());
    std::vector<Tensor> grads = buffer.empty() ? std::vector<Tensor>(node->num_outputs)
                                               : std::move(buffer.mapped());
    bool any_grad = false;
    for (const Tensor& g : grads) any_grad = any_grad || g.defined();

    std::vector<Tensor> input_grads;
    if (any_grad) input_grads = node->apply(std::move(grads));
    if (!retain_graph) node->release_saved();

    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& edge = node->next_edges[i];
      if (!edge.node) continue;
      if (any_grad && input_grads[i].defined()) {
        std::vector<Tensor>& slots = buffers[edge.node.get()];
        if (slots.empty()) slots.resize(edge.node->num_outputs);
        Tensor& slot = slots[edge.input_nr];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--pending[edge.node.get()] == 0) ready.push_back(edge.node);
    }
  }
}

}  // namespace redes

#include "core/autograd.h"

#include <cstdint>

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
    for (const GradHook& hook : meta.hooks) {
      Tensor changed = hook(incoming);
      if (changed.defined()) incoming = std::move(changed);
    }
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

namespace {

// Both record_op forms; the inputs as a range, so that the braced list most
// ops pass is not copied into a vector first.
void record_function(const char* name, Tensor& result, const Tensor* const* inputs, std::size_t count,
                     std::vector<Tensor> saved, BackwardFn backward) {
  auto node = std::make_shared<FunctionNode>(name, std::move(saved), std::move(backward));
  node->next_edges.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const Tensor* input = inputs[i];
    node->next_edges.push_back(input != nullptr && input->defined() ? gradient_edge(*input) : Edge{});
  }
  AutogradMeta& meta = result.impl()->autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
}

}  // namespace

void record_op(const char* name, Tensor& result, std::initializer_list<const Tensor*> inputs,
               std::vector<Tensor> saved, BackwardFn backward) {
  record_function(name, result, inputs.begin(), inputs.size(), std::move(saved), std::move(backward));
}

void record_op(const char* name, Tensor& result, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor> saved, BackwardFn backward) {
  record_function(name, result, inputs.data(), inputs.size(), std::move(saved), std::move(backward));
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

namespace {

// What one backward pass knows about each node it reaches: how many edges
// still have to deliver a gradient before it can run, and the gradients of
// its outputs gathered so far.
struct NodeTask {
  Node* node = nullptr;
  int pending = 0;
  std::vector<Tensor> grads;
};

// The nodes of one backward pass, found by address through an open-addressing
// table: a pass runs for every training step, and a node-based hash map
// allocates once per node where this allocates a few times per pass.
class GraphTasks {
 public:
  GraphTasks() : slots_(std::size_t{1} << kInitialBits, kEmpty) {}

  // The task of `node`, created if new (`created` says which). Creating one
  // may move the others.
  NodeTask& get(Node* node, bool* created = nullptr) {
    std::size_t slot = find_slot(node);
    const bool is_new = slots_[slot] == kEmpty;
    if (is_new) {
      if (2 * (tasks_.size() + 1) > slots_.size()) {
        grow();
        slot = find_slot(node);
      }
      slots_[slot] = tasks_.size();
      tasks_.push_back({node, 0, {}});
    }
    if (created != nullptr) *created = is_new;
    return tasks_[slots_[slot]];
  }

 private:
  static constexpr std::size_t kEmpty = ~std::size_t{0};
  static constexpr int kInitialBits = 6;

  // Fibonacci hashing: the product's top bits mix every bit of the address.
  std::size_t find_slot(Node* node) const {
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(node) * 0x9E3779B97F4A7C15ull) >>
                                                (64 - bits_));
    while (slots_[slot] != kEmpty && tasks_[slots_[slot]].node != node) slot = (slot + 1) & mask;
    return slot;
  }

  void grow() {
    ++bits_;
    slots_.assign(std::size_t{1} << bits_, kEmpty);
    for (std::size_t i = 0; i < tasks_.size(); ++i) slots_[find_slot(tasks_[i].node)] = i;
  }

  int bits_ = kInitialBits;          // slots_.size() == 1 << bits_
  std::vector<std::size_t> slots_;  // index into tasks_, or kEmpty
  std::vector<NodeTask> tasks_;
};

}  // namespace

namespace {

// A non-leaf's hooks see its gradient first; then tensors that asked to
// retain it get it (added to what earlier passes left).
void apply_hooks_and_retain(Node& node, std::vector<Tensor>& grads) {
  for (auto& [output, hook] : node.pre_hooks) {
    if (!grads[output].defined()) continue;
    Tensor changed = hook(grads[output]);
    if (changed.defined()) grads[output] = std::move(changed);
  }
  for (auto& [output, tensor] : node.retained) {
    const std::shared_ptr<TensorImpl> impl = tensor.lock();
    if (!impl || !grads[output].defined()) continue;
    AutogradMeta& meta = impl->autograd_meta();
    meta.grad = meta.grad ? add(Tensor(meta.grad), grads[output]).impl_ptr() : grads[output].clone().impl_ptr();
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  const Edge root_edge = gradient_edge(root);
  REDES_CHECK(root_edge.node != nullptr,
              "backward: the tensor does not require grad and has no grad_fn (did you forget "
              "requires_grad_() on a leaf, or run the forward pass under NoGradGuard?)");

  // Every node reachable from the root gets its task first (the table may
  // grow only now, so references into it stay valid while gradients flow);
  // then each counts the edges that lead to it, so that it runs only once
  // all of its output gradients have arrived.
  GraphTasks tasks;
  std::vector<Node*> reachable{root_edge.node.get()};
  tasks.get(root_edge.node.get());
  for (std::size_t i = 0; i < reachable.size(); ++i) {
    for (const Edge& edge : reachable[i]->next_edges) {
      bool created = false;
      if (edge.node) tasks.get(edge.node.get(), &created);
      if (created) reachable.push_back(edge.node.get());
    }
  }
  for (Node* node : reachable) {
    for (const Edge& edge : node->next_edges) {
      if (edge.node) ++tasks.get(edge.node.get()).pending;
    }
  }
  NodeTask& root_task = tasks.get(root_edge.node.get());
  root_task.grads.resize(root_edge.node->num_outputs);
  root_task.grads[root_edge.input_nr] = grad;

  NoGradGuard no_grad;
  std::vector<std::shared_ptr<Node>> ready{root_edge.node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    NodeTask& task = tasks.get(node.get());
    std::vector<Tensor> grads = std::move(task.grads);
    grads.resize(node->num_outputs);
    apply_hooks_and_retain(*node, grads);
    bool any_grad = false;
    for (const Tensor& g : grads) any_grad = any_grad || g.defined();

    std::vector<Tensor> input_grads;
    if (any_grad) input_grads = node->apply(std::move(grads));
    if (!retain_graph) node->release_saved();

    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& edge = node->next_edges[i];
      if (!edge.node) continue;
      NodeTask& next = tasks.get(edge.node.get());
      if (any_grad && input_grads[i].defined()) {
        if (next.grads.empty()) next.grads.resize(edge.node->num_outputs);
        Tensor& slot = next.grads[edge.input_nr];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--next.pending == 0) ready.push_back(edge.node);
    }
  }
}

}  // namespace redes

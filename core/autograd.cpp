#include "core/autograd.h"

#include <cstdint>

#include "core/autocast.h"
#include "core/fast_tls.h"
#include "core/ops.h"
#include "core/tensor_impl.h"

namespace redes {

// Destroying the last handle to a long chain (an unrolled LSTM, a loop of
// thousands of ops) would recurse once per node and can overflow the stack.
// The outermost destructor instead drains a queue of released children.
Node::~Node() {
  // Most nodes let go of children that others still hold: nothing to queue.
  // (A child may be held by several of this node's edges, as in x * x.)
  const auto edges = static_cast<long>(next_edges.size());
  bool releases_a_child = false;
  for (const Edge& edge : next_edges) {
    releases_a_child = releases_a_child || (edge.node && edge.node.use_count() <= edges);
  }
  if (!releases_a_child) return;
  thread_local std::vector<std::shared_ptr<Node>> releasing;
  REDES_FAST_TLS thread_local bool draining = false;
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

REDES_FAST_TLS thread_local bool grad_mode_enabled = true;

// The node that adds a leaf's incoming gradient into leaf.grad(). The leaf
// keeps it for its lifetime, so that every graph reuses it; it links back
// weakly, and a gradient for a leaf nobody holds any more goes nowhere.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : leaf_(leaf) {}
  const char* name() const override { return "AccumulateGrad"; }

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
    if (!leaf) return {};
    Tensor incoming = std::move(grads[0]);
    REDES_CHECK(incoming.shape() == leaf->shape, "backward: gradient of shape ",
                shape_str(incoming.shape()), " reached a leaf of shape ", shape_str(leaf->shape));
    incoming = apply_hooks(*leaf, std::move(incoming));
    AutogradMeta& meta = leaf->autograd_meta();
    if (incoming.requires_grad() || (meta.grad && Tensor(meta.grad).requires_grad())) {
      // A pass with create_graph: grad() keeps its history (and is never
      // written in place, which would corrupt that history).
      meta.grad = meta.grad ? add(Tensor(meta.grad), incoming).impl_ptr() : incoming.impl_ptr();
    } else if (!meta.grad) {
      // Keep the incoming buffer when nobody else can see it; otherwise copy,
      // so that later in-place accumulation never writes into a user's tensor.
      const bool private_buffer = incoming.impl_ptr().use_count() == 1 &&
                                  incoming.impl()->storage.use_count() == 1 &&
                                  incoming.is_contiguous() && incoming.dtype() == leaf->dtype;
      meta.grad = private_buffer ? incoming.impl_ptr() : incoming.to(leaf->dtype).clone().impl_ptr();
    } else {
      Tensor(meta.grad).add_(incoming);
    }
    if (!meta.post_accumulate_hooks.empty()) {
      const Tensor leaf_tensor(leaf);
      // A copy: a hook may remove itself.
      const auto hooks = meta.post_accumulate_hooks;
      for (const auto& [handle, hook] : hooks) hook(leaf_tensor);
    }
    return {};
  }

  // The leaf's hooks (Tensor::register_hook) applied to a gradient for it
  // (unchanged when the leaf is gone).
  Tensor apply_hooks(Tensor grad) const {
    const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
    return leaf ? apply_hooks(*leaf, std::move(grad)) : grad;
  }

 private:
  static Tensor apply_hooks(TensorImpl& leaf, Tensor grad) {
    for (const GradHook& hook : leaf.autograd_meta().hooks) {
      Tensor changed = hook(grad);
      if (changed.defined()) grad = std::move(changed);
    }
    return grad;
  }

  std::weak_ptr<TensorImpl> leaf_;
};

// A recorded op with several outputs and no saved tensors (e.g. unbind).
class MultiOutputNode final : public Node {
 public:
  MultiOutputNode(const char* name, MultiBackwardFn backward) : name_(name), backward_(std::move(backward)) {}
  const char* name() const override { return name_; }

  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    std::vector<Tensor> input_grads = backward_(grads);
    REDES_CHECK(input_grads.size() == next_edges.size(), name_, " backward returned ", input_grads.size(),
                " gradients for ", next_edges.size(), " inputs");
    return input_grads;
  }

 private:
  const char* name_;
  MultiBackwardFn backward_;
};

}  // namespace

namespace detail {

FunctionNode::FunctionNode(const char* name, const Tensor& result, std::vector<Tensor> saved) : name_(name) {
  saved_.reserve(saved.size());
  for (const Tensor& tensor : saved) {
    const bool is_output = tensor.defined() && tensor.impl() == result.impl();
    saved_.emplace_back(tensor, is_output ? 0 : -1);
  }
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>& grads) {
  std::vector<Tensor> unpacked;
  unpacked.reserve(saved_.size());
  for (const SavedTensor& saved : saved_) unpacked.push_back(saved.unpack(name_, this));
  std::vector<Tensor> input_grads = run_rule(grads[0], unpacked);
  REDES_CHECK(input_grads.size() == next_edges.size(), name_, " backward returned ", input_grads.size(),
              " gradients for ", next_edges.size(), " inputs");
  return input_grads;
}

void FunctionNode::release_saved() {
  for (SavedTensor& saved : saved_) saved.release();
}

void attach_node(Tensor& result, std::shared_ptr<Node> node, const Tensor* const* inputs, std::size_t count) {
  node->next_edges.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const Tensor* input = inputs[i];
    node->next_edges.push_back(input != nullptr && input->defined() ? gradient_edge(*input) : Edge{});
  }
  AutogradMeta& meta = result.impl()->autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
}

}  // namespace detail

Edge gradient_edge(const Tensor& tensor) {
  AutogradMeta* meta = tensor.impl()->autograd_if_any();
  if (meta == nullptr || !meta->requires_grad) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  if (!meta->grad_accumulator) meta->grad_accumulator = std::make_shared<AccumulateGrad>(tensor.impl_ptr());
  return {meta->grad_accumulator, 0};
}

bool is_grad_enabled() { return grad_mode_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_mode_enabled) { grad_mode_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_mode_enabled = previous_; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(grad_mode_enabled) { grad_mode_enabled = enabled; }
GradModeGuard::~GradModeGuard() { grad_mode_enabled = previous_; }

SavedTensor::SavedTensor(const Tensor& tensor, int output_nr)
    : data_(!tensor.defined() ? Tensor() : output_nr >= 0 ? tensor.detach() : tensor),
      version_(tensor.defined() ? tensor.version() : 0),
      output_nr_(output_nr) {}

Tensor SavedTensor::unpack(const char* op, Node* owner) const {
  REDES_CHECK(!released_, op,
              " backward: the tensors saved for backward were already freed by an earlier "
              "backward pass; call backward(gradient, /*retain_graph=*/true) to backward twice");
  REDES_CHECK(!data_.defined() || data_.version() == version_, op,
              " backward: a tensor saved for backward was modified in place (saved at version ",
              version_, ", now at version ", data_.defined() ? data_.version() : 0,
              "); clone it before modifying it, or modify it after backward()");
  if (output_nr_ < 0 || owner == nullptr || !grad_mode_enabled || !data_.defined()) return data_;
  // A pass with create_graph differentiates through the saved output, so it
  // must lead back to the node that made it.
  Tensor attached = data_.detach();
  AutogradMeta& meta = attached.impl()->autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = owner->shared_from_this();
  meta.output_nr = static_cast<std::uint32_t>(output_nr_);
  return attached;
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
  // Only for passes that capture gradients (autograd::grad): whether the
  // node lies on a path to a captured input, and a counter for ordering.
  bool needed = false;
  int unordered_parents = 0;
};

// The nodes of one backward pass, found by address through an open-addressing
// table: a pass runs for every training step, and a node-based hash map
// allocates once per node. The table and its tasks (with their gradient
// vectors) are kept for the thread's next pass (PassScratch), so a step
// whose graph has the same shape as the last allocates none of them.
class GraphTasks {
 public:
  GraphTasks() : slots_(std::size_t{1} << kInitialBits, kEmpty) {}

  // The task of `node`, created if new (`created` says which). Creating one
  // may move the others.
  NodeTask& get(Node* node, bool* created = nullptr) {
    std::size_t slot = find_slot(node);
    const bool is_new = slots_[slot] == kEmpty;
    if (is_new) {
      if (2 * (used_ + 1) > slots_.size()) {
        grow();
        slot = find_slot(node);
      }
      slots_[slot] = used_;
      if (used_ == tasks_.size()) tasks_.emplace_back();
      NodeTask& task = tasks_[used_++];
      task.node = node;
      task.pending = 0;
      task.needed = false;
      task.unordered_parents = 0;
    }
    if (created != nullptr) *created = is_new;
    return tasks_[slots_[slot]];
  }

  // The task of `node`, or null when the pass does not reach it.
  NodeTask* find(Node* node) {
    const std::size_t slot = find_slot(node);
    return slots_[slot] == kEmpty ? nullptr : &tasks_[slots_[slot]];
  }

  // Ready for another pass: the gradients left over (a pass that threw) are
  // released, the buffers kept unless a large graph grew them.
  void clear() {
    for (std::size_t i = 0; i < used_; ++i) tasks_[i].grads.clear();
    used_ = 0;
    if (bits_ > kKeptBits) {
      bits_ = kInitialBits;
      slots_.assign(std::size_t{1} << bits_, kEmpty);
      slots_.shrink_to_fit();
      tasks_.clear();
      tasks_.shrink_to_fit();
    } else {
      std::fill(slots_.begin(), slots_.end(), kEmpty);
    }
  }

 private:
  static constexpr std::size_t kEmpty = ~std::size_t{0};
  static constexpr int kInitialBits = 6;
  // Tables up to 2^12 slots (2048 nodes) are kept between passes.
  static constexpr int kKeptBits = 12;

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
    for (std::size_t i = 0; i < used_; ++i) slots_[find_slot(tasks_[i].node)] = i;
  }

  int bits_ = kInitialBits;          // slots_.size() == 1 << bits_
  std::vector<std::size_t> slots_;  // index into tasks_, or kEmpty
  std::vector<NodeTask> tasks_;     // the first used_ belong to this pass
  std::size_t used_ = 0;
};

// What a pass works in besides its tasks, kept with them between passes.
struct PassScratch {
  GraphTasks tasks;
  std::vector<Node*> reachable;
  std::vector<std::shared_ptr<Node>> ready;
  std::vector<Edge> roots;
  std::vector<Tensor> seeds;

  void clear() {
    tasks.clear();
    reachable.clear();
    ready.clear();
    roots.clear();
    seeds.clear();
  }
};

// A PassScratch of this thread's for as long as it lives: the one the last
// pass returned, or a new one while another pass is running (a hook or a
// custom backward that runs a pass of its own).
class ScratchLease {
 public:
  ScratchLease() {
    if (idle().empty()) {
      scratch_ = std::make_unique<PassScratch>();
    } else {
      scratch_ = std::move(idle().back());
      idle().pop_back();
    }
  }
  ~ScratchLease() {
    scratch_->clear();
    idle().push_back(std::move(scratch_));
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;

  PassScratch& operator*() const { return *scratch_; }

 private:
  static std::vector<std::unique_ptr<PassScratch>>& idle() {
    thread_local std::vector<std::unique_ptr<PassScratch>> scratches;
    return scratches;
  }

  std::unique_ptr<PassScratch> scratch_;
};

}  // namespace

namespace {

// A non-leaf's hooks see its gradient first; then, in a pass that
// accumulates, tensors that asked to retain it get it (added to what earlier
// passes left).
void apply_hooks_and_retain(Node& node, std::vector<Tensor>& grads, bool accumulating) {
  for (auto& [output, hook] : node.pre_hooks) {
    if (!grads[output].defined()) continue;
    Tensor changed = hook(grads[output]);
    if (changed.defined()) grads[output] = std::move(changed);
  }
  if (!accumulating) return;
  for (auto& [output, tensor] : node.retained) {
    const std::shared_ptr<TensorImpl> impl = tensor.lock();
    if (!impl || !grads[output].defined()) continue;
    AutogradMeta& meta = impl->autograd_meta();
    meta.grad = meta.grad ? add(Tensor(meta.grad), grads[output]).impl_ptr() : grads[output].clone().impl_ptr();
  }
}

// The gradient a pass starts from at `root`: the given one moved to the
// root's device and dtype, or ones for a one-element root.
Tensor seed_gradient(const Tensor& root, const Tensor& given, const char* op) {
  if (!given.defined()) {
    REDES_CHECK(root.numel() == 1, op, ": expected a scalar (one-element) tensor to start from, got shape ",
                shape_str(root.shape()), "; reduce it first (e.g. .sum()) or pass a gradient of that shape");
    return ones(root.shape(), {root.dtype(), root.device()});
  }
  REDES_CHECK(given.shape() == root.shape(), op, ": the gradient has shape ", shape_str(given.shape()),
              " but the tensor has shape ", shape_str(root.shape()));
  return given.to(root.device()).to(root.dtype());
}

// One pass. `captures` (autograd::grad) names the edges whose gradients are
// returned in `captured`; such a pass runs only the nodes on a path to them
// and accumulates into no leaf. Without captures every reachable node runs.
class BackwardPass {
 public:
  BackwardPass(PassScratch& scratch, bool retain_graph, const std::vector<Edge>* captures)
      : retain_graph_(retain_graph), captures_(captures), tasks_(scratch.tasks), reachable_(scratch.reachable),
        ready_(scratch.ready) {
    if (captures_ != nullptr) captured_.resize(captures_->size());
  }

  void run(const std::vector<Edge>& roots, const std::vector<Tensor>& seeds) {
    // Each op's backward keeps its forward's dtypes, whatever autocast scope
    // backward() is called in.
    const autocast no_autocast(kBFloat16, false);
    find_reachable(roots);
    for (std::size_t i = 0; i < roots.size(); ++i) {
      NodeTask& task = tasks_.get(roots[i].node.get());
      if (task.grads.empty()) task.grads.resize(roots[i].node->num_outputs);
      Tensor& slot = task.grads[roots[i].input_nr];
      slot = slot.defined() ? add(slot, seeds[i]) : seeds[i];
    }
    if (captures_ != nullptr) mark_needed();

    for (const Edge& root : roots) {
      NodeTask& task = tasks_.get(root.node.get());
      // A root that another root leads to waits for its turn; each root is queued once.
      if (task.pending == 0 && wanted(task)) {
        task.pending = -1;
        ready_.push_back(root.node);
      }
    }
    while (!ready_.empty()) {
      std::shared_ptr<Node> node = std::move(ready_.back());
      ready_.pop_back();
      run_node(node);
    }
  }

  std::vector<Tensor>& captured() { return captured_; }

 private:
  // Every node reachable from the roots gets its task first (the table may
  // grow only now, so references into it stay valid while gradients flow);
  // then each counts the edges that lead to it, so that it runs only once all
  // of its output gradients have arrived.
  void find_reachable(const std::vector<Edge>& roots) {
    for (const Edge& root : roots) {
      bool created = false;
      tasks_.get(root.node.get(), &created);
      if (created) reachable_.push_back(root.node.get());
    }
    for (std::size_t i = 0; i < reachable_.size(); ++i) {
      for (const Edge& edge : reachable_[i]->next_edges) {
        bool created = false;
        if (edge.node) tasks_.get(edge.node.get(), &created);
        if (created) reachable_.push_back(edge.node.get());
      }
    }
    for (Node* node : reachable_) {
      for (const Edge& edge : node->next_edges) {
        if (edge.node) ++tasks_.get(edge.node.get()).pending;
      }
    }
  }

  // A node is needed when it is captured or leads to a needed node: found
  // over the nodes in reverse topological order (Kahn's order, reversed).
  void mark_needed() {
    std::vector<Node*> order;
    order.reserve(reachable_.size());
    for (Node* node : reachable_) {
      NodeTask& task = tasks_.get(node);
      task.unordered_parents = task.pending;
      if (task.pending == 0) order.push_back(node);
    }
    for (std::size_t i = 0; i < order.size(); ++i) {
      for (const Edge& edge : order[i]->next_edges) {
        if (edge.node && --tasks_.get(edge.node.get()).unordered_parents == 0) order.push_back(edge.node.get());
      }
    }
    for (const Edge& capture : *captures_) {
      if (NodeTask* task = tasks_.find(capture.node.get())) task->needed = true;
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      NodeTask& task = tasks_.get(*it);
      for (const Edge& edge : (*it)->next_edges) {
        if (edge.node && tasks_.get(edge.node.get()).needed) task.needed = true;
      }
    }
  }

  bool wanted(const NodeTask& task) const { return captures_ == nullptr || task.needed; }

  // Whether a capturing pass must run `node` (not only read its gradients):
  // one of the nodes it leads to is needed.
  bool leads_to_needed(const Node& node) {
    for (const Edge& edge : node.next_edges) {
      if (edge.node && tasks_.get(edge.node.get()).needed) return true;
    }
    return false;
  }

  void capture(Node& node, const std::vector<Tensor>& grads) {
    for (std::size_t i = 0; i < captures_->size(); ++i) {
      const Edge& edge = (*captures_)[i];
      if (edge.node.get() != &node || !grads[edge.input_nr].defined()) continue;
      Tensor grad = grads[edge.input_nr];
      if (auto* leaf = dynamic_cast<AccumulateGrad*>(&node)) grad = leaf->apply_hooks(std::move(grad));
      captured_[i] = captured_[i].defined() ? add(captured_[i], grad) : grad;
    }
  }

  void run_node(const std::shared_ptr<Node>& node) {
    // The table does not grow while gradients flow, so `grads` stays put.
    std::vector<Tensor>& grads = tasks_.get(node.get()).grads;
    grads.resize(node->num_outputs);
    apply_hooks_and_retain(*node, grads, captures_ == nullptr);
    if (captures_ != nullptr) capture(*node, grads);
    bool any_grad = false;
    for (const Tensor& g : grads) any_grad = any_grad || g.defined();
    const bool runs = any_grad && (captures_ == nullptr || leads_to_needed(*node));

    std::vector<Tensor> input_grads;
    if (runs) input_grads = node->apply(grads);
    grads.clear();  // freed now, not at the end of the pass
    if (!retain_graph_) node->release_saved();

    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& edge = node->next_edges[i];
      if (!edge.node) continue;
      NodeTask& next = tasks_.get(edge.node.get());
      if (runs && input_grads[i].defined()) {
        if (next.grads.empty()) next.grads.resize(edge.node->num_outputs);
        Tensor& slot = next.grads[edge.input_nr];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--next.pending == 0 && wanted(next)) ready_.push_back(edge.node);
    }
  }

  bool retain_graph_;
  const std::vector<Edge>* captures_;
  std::vector<Tensor> captured_;
  GraphTasks& tasks_;
  std::vector<Node*>& reachable_;
  std::vector<std::shared_ptr<Node>>& ready_;
};

// The roots' edges and seeds, checked.
void prepare_roots(std::span<const Tensor> roots, std::span<const Tensor> grads, const char* op,
                   std::vector<Edge>& edges, std::vector<Tensor>& seeds) {
  REDES_CHECK(!roots.empty(), op, ": no tensor to start from");
  REDES_CHECK(grads.empty() || grads.size() == roots.size(), op, ": got ", grads.size(), " gradients for ",
              roots.size(), " tensors");
  for (std::size_t i = 0; i < roots.size(); ++i) {
    REDES_CHECK(roots[i].defined(), op, ": tensor ", i, " to start from is undefined");
    Edge edge = gradient_edge(roots[i]);
    REDES_CHECK(edge.node != nullptr, op, ": ", roots.size() > 1 ? "a tensor to start from" : "the tensor",
                " does not require grad and has no grad_fn (did you forget requires_grad_() on a leaf, or run the "
                "forward pass under NoGradGuard?)");
    edges.push_back(std::move(edge));
    seeds.push_back(seed_gradient(roots[i], grads.empty() ? Tensor() : grads[i], op));
  }
}

}  // namespace

void run_backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph,
                  bool create_graph) {
  const ScratchLease lease;
  PassScratch& scratch = *lease;
  prepare_roots(roots, grads, "backward", scratch.roots, scratch.seeds);
  GradModeGuard grad_mode(create_graph);
  BackwardPass(scratch, retain_graph, nullptr).run(scratch.roots, scratch.seeds);
}

Tensor once_differentiable(const char* op, Tensor grad, std::initializer_list<const Tensor*> inputs) {
  if (!grad.defined() || grad.requires_grad() || !needs_grad(inputs)) return grad;
  record_op(op, grad, inputs, {}, [op](const Tensor&, const std::vector<Tensor>&) -> std::vector<Tensor> {
    throw Error(std::string(op) +
                " backward: its gradient is computed by a dedicated kernel and cannot be differentiated again "
                "(create_graph through this op is not supported)");
  });
  return grad;
}

namespace autograd {

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, const GradOptions& options) {
  const char* op = "autograd::grad";
  REDES_CHECK(!inputs.empty(), op, ": no inputs to differentiate with respect to");
  std::vector<Edge> captures;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    REDES_CHECK(inputs[i].defined() && inputs[i].requires_grad(), op, ": input ", i,
                inputs[i].defined() ? " does not require grad" : " is undefined");
    captures.push_back(gradient_edge(inputs[i]));
  }
  const ScratchLease lease;
  PassScratch& scratch = *lease;
  prepare_roots(outputs, grad_outputs, op, scratch.roots, scratch.seeds);
  GradModeGuard grad_mode(options.create_graph);
  BackwardPass pass(scratch, options.retain_graph.value_or(options.create_graph), &captures);
  pass.run(scratch.roots, scratch.seeds);
  std::vector<Tensor> result = std::move(pass.captured());
  for (std::size_t i = 0; i < result.size(); ++i) {
    REDES_CHECK(result[i].defined() || options.allow_unused, op, ": input ", i,
                " was not used to compute the outputs (pass allow_unused = true to get an undefined gradient "
                "for it)");
  }
  return result;
}

}  // namespace autograd

}  // namespace redes

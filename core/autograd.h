// The autograd tape: every recorded op result points at a Node that knows how
// to turn the gradient of its output into gradients of its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

struct Edge {
  std::shared_ptr<Node> node;  // null: the input needs no gradient
  std::uint32_t input_nr = 0;  // which output of `node`'s forward op this gradient is for
};

// Nodes are always owned by shared_ptr; a node hands itself out when a
// double-backward pass re-attaches its saved output to it.
class REDES_API Node : public std::enable_shared_from_this<Node> {
 public:
  virtual ~Node();
  virtual const char* name() const = 0;
  // `grads` holds the gradient of each forward output (undefined where none
  // flowed); the node may move from them. Returns one gradient per next edge
  // (undefined where none). By reference: the backward pass keeps the
  // vector's buffer for the next pass.
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Frees what was saved for backward once a pass ran without retain_graph.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;
  std::uint32_t num_outputs = 1;
  // Run on the gradient of output `first` before apply (Tensor::register_hook
  // on a non-leaf); a hook's defined result replaces the gradient.
  std::vector<std::pair<std::uint32_t, GradHook>> pre_hooks;
  // Outputs whose gradient is kept in their .grad() (Tensor::retain_grad).
  std::vector<std::pair<std::uint32_t, std::weak_ptr<TensorImpl>>> retained;
};

// A tensor kept for backward, with the storage version at save time (so an
// in-place modification after saving is detected). An input is kept as it is,
// history included, so that a backward pass with create_graph can
// differentiate through it. The op's own output is kept as a detached alias
// (its grad_fn would otherwise keep a cycle alive); unpacked while grad mode
// is on it is re-attached to the node that owns it.
class REDES_API SavedTensor {
 public:
  SavedTensor() = default;
  // `output_nr`: which output of the owning node `tensor` is, or -1 for an input.
  explicit SavedTensor(const Tensor& tensor, int output_nr = -1);
  // Throws if the tensor was modified in place or already freed by a backward
  // pass. `owner`: the node that saved it (needed for a saved output).
  Tensor unpack(const char* op, Node* owner = nullptr) const;
  void release();

 private:
  Tensor data_;
  std::uint64_t version_ = 0;
  int output_nr_ = -1;
  bool released_ = false;
};

// Backward rule of a single-output op: gets the output gradient and the
// unpacked saved tensors, returns one gradient per input (undefined allowed).
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<Tensor>& saved)>;

// Where a gradient for `tensor` goes: its grad_fn's output, or its leaf
// accumulator (created on first use); no node when it does not require grad.
REDES_API Edge gradient_edge(const Tensor& tensor);

// True when grad mode is on and any of the tensors requires grad.
REDES_API bool needs_grad(std::initializer_list<const Tensor*> inputs);

namespace detail {

// The node of a recorded single-output op: its saved tensors, and the
// backward rule, which RuleNode holds inline (node and rule are one
// allocation; a std::function would allocate a rule's captures again).
class REDES_API FunctionNode : public Node {
 public:
  const char* name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) final;
  void release_saved() final;

 protected:
  // `result`: the op's output, which `saved` may contain.
  FunctionNode(const char* name, const Tensor& result, std::vector<Tensor> saved);

 private:
  virtual std::vector<Tensor> run_rule(const Tensor& grad, const std::vector<Tensor>& saved) = 0;

  const char* name_;
  std::vector<SavedTensor> saved_;
};

template <class Rule>
class RuleNode final : public FunctionNode {
 public:
  template <class R>
  RuleNode(const char* name, const Tensor& result, std::vector<Tensor> saved, R&& rule)
      : FunctionNode(name, result, std::move(saved)), rule_(std::forward<R>(rule)) {}

 private:
  std::vector<Tensor> run_rule(const Tensor& grad, const std::vector<Tensor>& saved) override {
    return rule_(grad, saved);
  }

  Rule rule_;
};

// Makes `node` the grad_fn of `result`, with an edge to each of the `count`
// inputs (null or undefined ones get an empty edge).
REDES_API void attach_node(Tensor& result, std::shared_ptr<Node> node, const Tensor* const* inputs,
                           std::size_t count);

template <class Rule>
concept BackwardRule = std::is_invocable_r_v<std::vector<Tensor>, Rule&, const Tensor&, const std::vector<Tensor>&>;

}  // namespace detail

// Makes `result` the output of a recorded op named `name` with these inputs.
// Call only when needs_grad(inputs) is true. `backward` is any callable of
// BackwardFn's signature; a lambda is stored in the node as it is.
template <detail::BackwardRule Rule>
void record_op(const char* name, Tensor& result, std::initializer_list<const Tensor*> inputs,
               std::vector<Tensor> saved, Rule&& backward) {
  detail::attach_node(result,
                      std::make_shared<detail::RuleNode<std::decay_t<Rule>>>(name, result, std::move(saved),
                                                                             std::forward<Rule>(backward)),
                      inputs.begin(), inputs.size());
}

template <detail::BackwardRule Rule>
void record_op(const char* name, Tensor& result, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor> saved, Rule&& backward) {
  detail::attach_node(result,
                      std::make_shared<detail::RuleNode<std::decay_t<Rule>>>(name, result, std::move(saved),
                                                                             std::forward<Rule>(backward)),
                      inputs.data(), inputs.size());
}

// Backward rule of an op with several outputs: gets one gradient per output
// (undefined where none flowed), returns one gradient per input.
using MultiBackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads)>;

// Makes every tensor of `results` an output of one recorded op (output i
// receives gradient i). Call only when needs_grad(inputs) is true.
REDES_API void record_multi_output_op(const char* name, std::vector<Tensor>& results,
                                      const std::vector<const Tensor*>& inputs, MultiBackwardFn backward);

// `grad`, computed by an op's backward with a dedicated kernel from
// `inputs`: in a pass with create_graph (grad mode on) where one of `inputs`
// requires grad, it gets a node that refuses a second differentiation with a
// clear error instead of silently having no history. Backward rules written
// with differentiable ops need nothing: their results are recorded like any
// other op's.
REDES_API Tensor once_differentiable(const char* op, Tensor grad, std::initializer_list<const Tensor*> inputs);

// Runs the backward pass from `roots`, each seeded with its entry of `grads`
// (same shape, device and dtype), accumulating into the leaves' grad().
// `create_graph`: the pass itself is recorded (grad mode on), so the
// gradients can be differentiated again.
REDES_API void run_backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph,
                            bool create_graph = false);

namespace autograd {

struct GradOptions {
  std::optional<bool> retain_graph = std::nullopt;  // keep the saved tensors; default: create_graph
  bool create_graph = false;          // record the pass, for higher derivatives
  bool allow_unused = false;          // an input the outputs do not depend on gets an undefined gradient
};

// The gradients of `outputs` with respect to `inputs` (torch.autograd.grad):
// returned, not accumulated into any grad(). `grad_outputs` seeds each output
// (ones for a one-element output when empty or undefined). Every output and
// input must require grad.
//
//   Tensor y = (x * x * x).sum();
//   Tensor dy = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];  // 3 x^2
//   Tensor d2y = autograd::grad({dy.sum()}, {x})[0];                     // 6 x
REDES_API std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                                   const std::vector<Tensor>& grad_outputs = {}, const GradOptions& options = {});

}  // namespace autograd

}  // namespace redes

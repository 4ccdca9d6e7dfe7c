// The autograd tape: every recorded op result points at a Node that knows how
// to turn the gradient of its output into gradients of its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/export.h"
#include "core/tensor.h"

namespace redes {

struct Edge {
  std::shared_ptr<Node> node;  // null: the input needs no gradient
  std::uint32_t input_nr = 0;  // which output of `node`'s forward op this gradient is for
};

class REDES_API Node {
 public:
  virtual ~Node();
  virtual const char* name() const = 0;
  // `grads` holds the gradient of each forward output (undefined where none
  // flowed); returns one gradient per next edge (undefined where none).
  virtual std::vector<Tensor> apply(std::vector<Tensor> grads) = 0;
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

// A tensor kept for backward. It holds a detached alias (so an op's output can
// be saved without its own grad_fn keeping a cycle alive) and the storage
// version at save time (so in-place modification after saving is detected).
class REDES_API SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& tensor);
  // Throws if the tensor was modified in place or already freed by a backward pass.
  Tensor unpack(const char* op) const;
  void release();

 private:
  Tensor data_;
  std::uint64_t version_ = 0;
  bool released_ = false;
};

// Backward rule of a single-output op: gets the output gradient and the
// unpacked saved tensors, returns one gradient per input (undefined allowed).
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<Tensor>& saved)>;

// True when grad mode is on and any of the tensors requires grad.
REDES_API bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Makes `result` the output of a recorded op named `name` with these inputs.
// Call only when needs_grad(inputs) is true.
REDES_API void record_op(const char* name, Tensor& result, std::initializer_list<const Tensor*> inputs,
                         std::vector<Tensor> saved, BackwardFn backward);

REDES_API void record_op(const char* name, Tensor& result, const std::vector<const Tensor*>& inputs,
                         std::vector<Tensor> saved, BackwardFn backward);

// Backward rule of an op with several outputs: gets one gradient per output
// (undefined where none flowed), returns one gradient per input.
using MultiBackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads)>;

// Makes every tensor of `results` an output of one recorded op (output i
// receives gradient i). Call only when needs_grad(inputs) is true.
REDES_API void record_multi_output_op(const char* name, std::vector<Tensor>& results,
                                      const std::vector<const Tensor*>& inputs, MultiBackwardFn backward);

// Runs the backward pass from `root` seeded with `grad`.
REDES_API void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace redes

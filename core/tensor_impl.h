// The data behind a Tensor handle: storage, view geometry and autograd state.
// Internal to the library (not installed).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/storage.h"
#include "core/tensor.h"

namespace redes {

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;          // set on results of recorded ops
  std::uint32_t output_nr = 0;            // which output of grad_fn's op this tensor is
  // Leaves: the node that adds into grad, made once and kept (it links back
  // to the leaf weakly, so the two form no cycle).
  std::shared_ptr<Node> grad_accumulator;
  std::shared_ptr<TensorImpl> grad;       // leaves (and retain_grad): the accumulated gradient
  std::vector<GradHook> hooks;            // leaves: applied before accumulation
  // Leaves: called after accumulation, with the handle each was registered under.
  std::vector<std::pair<std::uint64_t, PostAccumulateGradHook>> post_accumulate_hooks;
};

class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Storage> storage_in, Shape shape_in, Strides strides_in, std::int64_t offset_in,
             DType dtype_in)
      : storage(std::move(storage_in)), shape(std::move(shape_in)), strides(std::move(strides_in)),
        offset(offset_in), dtype(dtype_in) {}

  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  std::int64_t offset = 0;  // elements from the storage start
  DType dtype;
  // Empty for tensors that never met autograd. Inline: every recorded op's
  // result has one, and a separate allocation per op would cost more than
  // the bytes it saves on the others.
  std::optional<AutogradMeta> autograd;

  AutogradMeta& autograd_meta() {
    if (!autograd) autograd.emplace();
    return *autograd;
  }
  const AutogradMeta* autograd_if_any() const { return autograd ? &*autograd : nullptr; }
  AutogradMeta* autograd_if_any() { return autograd ? &*autograd : nullptr; }
};

// A tensor over `base`'s storage with new geometry (no autograd history).
inline Tensor make_alias(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  const TensorImpl& impl = *base.impl();
  return Tensor(std::make_shared<TensorImpl>(impl.storage, std::move(shape), std::move(strides), offset, impl.dtype));
}

// Gives `target` the data, geometry and dtype of `source` in place, keeping
// its identity and autograd state: every holder of `target` (an optimizer's
// parameter list) sees the new data, as with PyTorch's `param.data = ...`.
inline void set_data(const Tensor& target, const Tensor& source) {
  TensorImpl& impl = *target.impl();
  const TensorImpl& from = *source.impl();
  impl.storage = from.storage;
  impl.shape = from.shape;
  impl.strides = from.strides;
  impl.offset = from.offset;
  impl.dtype = from.dtype;
}

}  // namespace redes

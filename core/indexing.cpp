#include "core/indexing.h"

#include <string>

#include "core/ops.h"

namespace redes {

namespace indexing {

Slice::Slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop, std::optional<std::int64_t> step)
    : start_(start), stop_(stop), step_(step.value_or(1)) {
  REDES_CHECK(step_ > 0, "Slice: expected a positive step, got ", step_,
              " (a reversed order is flip(x, {dim}), as in PyTorch)");
}

TensorIndex::TensorIndex(const char* text) : value_(EllipsisIndexType{}) {
  REDES_CHECK(text != nullptr && std::string_view(text) == "...", "TensorIndex: the only string index is \"...\", got \"",
              text == nullptr ? "" : text, "\"");
}

}  // namespace indexing

namespace {

using indexing::TensorIndex;

// How many dims of the tensor an index uses up: None adds one and uses none,
// a bool mask uses as many as it has.
std::int64_t dims_used(const TensorIndex& index) {
  if (index.is_none() || index.is_ellipsis()) return 0;
  if (index.is_tensor() && index.tensor().dtype() == kBool) return index.tensor().dim();
  return 1;
}

std::string position_str(std::size_t i) { return "index " + std::to_string(i); }

// x indexed along `dim` by an integer tensor (any shape): dim is replaced by
// the index's dims.
Tensor index_by_positions(const Tensor& x, std::int64_t dim, const Tensor& positions, std::size_t i) {
  REDES_CHECK(positions.dtype() == kInt64 || positions.dtype() == kInt32, "index: ", position_str(i),
              " is a tensor of ", dtype_name(positions.dtype()), "; expected int64 or int32 positions or a bool mask");
  const Tensor flat = positions.to(kInt64).reshape({positions.numel()});
  const Tensor picked = index_select(x, dim, flat);
  Shape shape(x.shape().begin(), x.shape().begin() + dim);
  shape.insert(shape.end(), positions.shape().begin(), positions.shape().end());
  shape.insert(shape.end(), x.shape().begin() + dim + 1, x.shape().end());
  return picked.reshape(shape);
}

// x with the `mask.dim()` dims from `dim` on replaced by one dim holding the
// positions where the mask is true (row-major order), as PyTorch's x[mask].
Tensor index_by_mask(const Tensor& x, std::int64_t dim, const Tensor& mask, std::size_t i) {
  const std::int64_t k = mask.dim();
  const Shape covered(x.shape().begin() + dim, x.shape().begin() + dim + k);
  REDES_CHECK(mask.shape() == covered, "index: the bool mask at ", position_str(i), " has shape ",
              shape_str(mask.shape()), " but the dims it covers have shape ", shape_str(covered));
  // The positions are read on the host: the result's size depends on them.
  const std::vector<std::int64_t> flags = mask.to(Device::cpu()).to(kInt64).reshape({mask.numel()}).to_vector<std::int64_t>();
  std::vector<std::int64_t> positions;
  for (std::size_t p = 0; p < flags.size(); ++p) {
    if (flags[p] != 0) positions.push_back(static_cast<std::int64_t>(p));
  }
  Tensor merged = x;
  if (k != 1) {
    Shape shape(x.shape().begin(), x.shape().begin() + dim);
    shape.push_back(mask.numel());
    shape.insert(shape.end(), x.shape().begin() + dim + k, x.shape().end());
    merged = x.reshape(shape);
  }
  const auto count = static_cast<std::int64_t>(positions.size());
  return index_select(merged, dim, from_vector(positions, {count}, {kInt64, x.device()}));
}

// Applies the indices; `views_only` refuses tensor indices (for index_put_).
Tensor apply_indices(const Tensor& self, const std::vector<TensorIndex>& indices, const char* op, bool views_only) {
  REDES_CHECK(self.defined(), op, ": the tensor is undefined");
  std::int64_t used = 0, ellipses = 0, tensors = 0;
  for (const TensorIndex& index : indices) {
    used += dims_used(index);
    ellipses += index.is_ellipsis() ? 1 : 0;
    tensors += index.is_tensor() ? 1 : 0;
  }
  REDES_CHECK(ellipses <= 1, op, ": at most one \"...\" (Ellipsis) per index, got ", ellipses);
  REDES_CHECK(used <= self.dim(), op, ": too many indices for a tensor of dimension ", self.dim(), " (the indices use ",
              used, " dims)");
  REDES_CHECK(tensors <= 1, op, ": at most one tensor index is supported, got ", tensors,
              " (index along one dim at a time)");
  REDES_CHECK(!views_only || tensors == 0, op, ": tensor indices are not supported here; use integers, slices, None "
              "and \"...\" (for a mask, masked_fill; for positions, scatter_add)");

  Tensor result = self;
  std::int64_t dim = 0;  // the dim of `result` the next index applies to
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const TensorIndex& index = indices[i];
    if (index.is_none()) {
      result = result.unsqueeze(dim++);
    } else if (index.is_ellipsis()) {
      dim += self.dim() - used;
    } else if (index.is_integer()) {
      const std::int64_t size = result.size(dim), position = index.integer();
      REDES_CHECK(position >= -size && position < size, op, ": ", position_str(i), " is ", position,
                  ", out of range for dim ", dim, " of size ", size);
      result = result.select(dim, position);
    } else if (index.is_slice()) {
      const indexing::Slice& slice = index.slice();
      result = result.slice(dim, slice.start().value_or(0), slice.stop().value_or(result.size(dim)), slice.step());
      ++dim;
    } else {
      const Tensor& tensor = index.tensor();
      REDES_CHECK(tensor.defined(), op, ": ", position_str(i), " is an undefined tensor");
      if (tensor.dtype() == kBool) {
        result = index_by_mask(result, dim, tensor, i);
        ++dim;
      } else {
        result = index_by_positions(result, dim, tensor, i);
        dim += tensor.dim();
      }
    }
  }
  return result;
}

}  // namespace

Tensor Tensor::index(const std::vector<indexing::TensorIndex>& indices) const {
  return apply_indices(*this, indices, "index", false);
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value) {
  apply_indices(*this, indices, "index_put_", true).copy_(value);
  return *this;
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, double value) {
  apply_indices(*this, indices, "index_put_", true).fill_(value);
  return *this;
}

}  // namespace redes

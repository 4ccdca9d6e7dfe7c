// Views: new shapes and strides over the same storage, each with the
// backward rule that maps the view's gradient back to its base.
#include <algorithm>
#include <numeric>
#include <optional>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/tensor_impl.h"

namespace redes {

namespace {

// `backward`: a lambda, stored in the node only when the view is recorded.
template <class Rule>
void record_view(const char* name, Tensor& view, const Tensor& base, Rule&& backward) {
  if (needs_grad({&base})) record_op(name, view, {&base}, {}, std::forward<Rule>(backward));
}

// Replaces one -1 in `shape` so the element count matches `numel`.
Shape infer_shape(Shape shape, std::int64_t numel, const char* op) {
  std::optional<std::size_t> unknown;
  std::int64_t known = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      REDES_CHECK(!unknown, op, ": only one dim may be -1, got ", shape_str(shape));
      unknown = d;
    } else {
      REDES_CHECK(shape[d] >= 0, op, ": invalid size ", shape[d], " in shape ", shape_str(shape));
      known *= shape[d];
    }
  }
  if (unknown) {
    REDES_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape_str(shape),
                " cannot hold ", numel, " elements");
    shape[*unknown] = numel / known;
  }
  REDES_CHECK(numel_of(shape) == numel, op, ": shape ", shape_str(shape), " holds ", numel_of(shape),
              " elements, the tensor has ", numel);
  return shape;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides),
// or nothing when the view would need a copy (the rule of PyTorch's view()).
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape) {
  if (old_shape.empty() || numel_of(shape) == 0) return contiguous_strides(shape);
  Strides strides(shape.size());
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t tensor_d = static_cast<std::int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    const auto td = static_cast<std::size_t>(tensor_d);
    tensor_numel *= old_shape[td];
    if (tensor_d == 0 || (old_shape[td - 1] != 1 && old_strides[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[static_cast<std::size_t>(view_d)] == 1)) {
        strides[static_cast<std::size_t>(view_d)] = view_numel * chunk_base_stride;
        view_numel *= shape[static_cast<std::size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

auto reshape_back(Shape base_shape) {
  return [base_shape](const Tensor& g, const std::vector<Tensor>&) {
    return std::vector<Tensor>{g.reshape(base_shape)};
  };
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape_new = infer_shape(requested, numel(), "view");
  std::optional<Strides> strides_new = view_strides(shape(), strides(), shape_new);
  REDES_CHECK(strides_new.has_value(), "view: cannot view a tensor of shape ", shape_str(shape()),
              " and strides ", shape_str(strides()), " as ", shape_str(shape_new),
              " without copying; use reshape() (which copies when needed)");
  Tensor out = make_alias(*this, shape_new, std::move(*strides_new), storage_offset());
  record_view("view", out, *this, reshape_back(shape()));
  return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape_new = infer_shape(requested, numel(), "reshape");
  if (view_strides(shape(), strides(), shape_new)) return view(shape_new);
  return contiguous().view(shape_new);
}

Tensor Tensor::flatten() const { return reshape({numel()}); }

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const std::int64_t start = wrap_dim(start_dim, dim(), "flatten"), end = wrap_dim(end_dim, dim(), "flatten");
  REDES_CHECK(start <= end, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim, " for shape ",
              shape_str(shape()));
  Shape merged(shape().begin(), shape().begin() + start);
  std::int64_t size = 1;
  for (std::int64_t d = start; d <= end; ++d) size *= shape()[static_cast<std::size_t>(d)];
  merged.push_back(size);
  merged.insert(merged.end(), shape().begin() + end + 1, shape().end());
  return reshape(merged);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
  REDES_CHECK(static_cast<std::int64_t>(dims.size()) == dim(), "permute: expected ", dim(),
              " dims for a tensor of shape ", shape_str(shape()), ", got ", dims.size());
  Shape shape_new(dims.size());
  Strides strides_new(dims.size());
  std::vector<std::int64_t> inverse(dims.size(), -1);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<std::size_t>(wrap_dim(dims[i], dim(), "permute"));
    REDES_CHECK(inverse[d] == -1, "permute: dim ", d, " appears twice in the permutation");
    inverse[d] = static_cast<std::int64_t>(i);
    shape_new[i] = shape()[d];
    strides_new[i] = strides()[d];
  }
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new), storage_offset());
  record_view("permute", out, *this, [inverse](const Tensor& g, const std::vector<Tensor>&) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
  return out;
}

// A permute of two dims, without permute's vectors: every linear layer
// transposes its weight, forward and backward.
Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  const auto d0 = static_cast<std::size_t>(wrap_dim(dim0, dim(), "transpose"));
  const auto d1 = static_cast<std::size_t>(wrap_dim(dim1, dim(), "transpose"));
  Shape shape_new = shape();
  Strides strides_new = strides();
  std::swap(shape_new[d0], shape_new[d1]);
  std::swap(strides_new[d0], strides_new[d1]);
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new), storage_offset());
  record_view("transpose", out, *this, [d0, d1](const Tensor& g, const std::vector<Tensor>&) {
    return std::vector<Tensor>{g.transpose(static_cast<std::int64_t>(d0), static_cast<std::int64_t>(d1))};
  });
  return out;
}

Tensor Tensor::t() const {
  REDES_CHECK(dim() <= 2, "t: expected a tensor of at most 2 dims, got shape ", shape_str(shape()),
              " (use transpose(dim0, dim1))");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  const auto axis = static_cast<std::size_t>(wrap_dim(d, dim(), "slice"));
  REDES_CHECK(step > 0, "slice: step must be positive, got ", step);
  const std::int64_t size = shape()[axis];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<std::int64_t>(start, 0, size);
  end = std::clamp<std::int64_t>(end, start, size);
  Shape shape_new = shape();
  Strides strides_new = strides();
  shape_new[axis] = (end - start + step - 1) / step;
  strides_new[axis] *= step;
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new),
                         storage_offset() + start * strides()[axis]);
  record_view("slice", out, *this,
              [base_shape = shape(), axis, start, end, step](const Tensor& g, const std::vector<Tensor>&) {
                const auto dim = static_cast<std::int64_t>(axis);
                if (g.requires_grad() && is_grad_enabled()) {
                  // A pass with create_graph: the same placement as a recorded
                  // op (an in-place copy would record nothing).
                  Shape index_shape(base_shape.size(), 1);
                  index_shape[axis] = g.size(dim);
                  const Tensor index = (arange(g.size(dim), {kInt64, g.device()}) * step + start)
                                           .reshape(index_shape)
                                           .expand(g.shape())
                                           .contiguous();
                  return std::vector<Tensor>{scatter_add(zeros(base_shape, {g.dtype(), g.device()}), dim, index, g)};
                }
                Tensor grad = zeros(base_shape, {g.dtype(), g.device()});
                grad.slice(static_cast<std::int64_t>(axis), start, end, step).copy_(g);
                return std::vector<Tensor>{grad};
              });
  return out;
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  const auto axis = static_cast<std::size_t>(wrap_dim(d, dim(), "narrow"));
  const std::int64_t size = shape()[axis];
  REDES_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: range [", start, ", ",
              start + length, ") is outside dim ", axis, " of size ", size);
  return slice(d, start, start + length);
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  const auto axis = static_cast<std::size_t>(wrap_dim(d, dim(), "select"));
  const std::int64_t size = shape()[axis];
  REDES_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dim ", axis,
              " of size ", size);
  if (index < 0) index += size;
  return narrow(static_cast<std::int64_t>(axis), index, 1).squeeze(static_cast<std::int64_t>(axis));
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  const auto axis = static_cast<std::size_t>(wrap_dim(d, dim() + 1, "unsqueeze"));
  Shape shape_new = shape();
  Strides strides_new = strides();
  const std::int64_t stride = axis < strides_new.size() ? strides_new[axis] * shape_new[axis] : 1;
  shape_new.insert(shape_new.begin() + static_cast<std::ptrdiff_t>(axis), 1);
  strides_new.insert(strides_new.begin() + static_cast<std::ptrdiff_t>(axis), stride);
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new), storage_offset());
  record_view("unsqueeze", out, *this, reshape_back(shape()));
  return out;
}

Tensor Tensor::squeeze(std::int64_t d) const {
  const auto axis = static_cast<std::size_t>(wrap_dim(d, dim(), "squeeze"));
  REDES_CHECK(shape()[axis] == 1, "squeeze: dim ", axis, " has size ", shape()[axis], ", expected 1");
  Shape shape_new = shape();
  Strides strides_new = strides();
  shape_new.erase(shape_new.begin() + static_cast<std::ptrdiff_t>(axis));
  strides_new.erase(strides_new.begin() + static_cast<std::ptrdiff_t>(axis));
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new), storage_offset());
  record_view("squeeze", out, *this, reshape_back(shape()));
  return out;
}

Tensor Tensor::expand(const Shape& requested) const {
  REDES_CHECK(requested.size() >= shape().size(), "expand: cannot expand shape ", shape_str(shape()),
              " to fewer dims ", shape_str(requested));
  const std::size_t lead = requested.size() - shape().size();
  Shape shape_new(requested.size());
  Strides strides_new(requested.size(), 0);
  for (std::size_t d = 0; d < requested.size(); ++d) {
    if (d < lead) {
      REDES_CHECK(requested[d] >= 0, "expand: new leading dim ", d, " cannot be ", requested[d]);
      shape_new[d] = requested[d];
      continue;
    }
    const std::int64_t own = shape()[d - lead];
    const std::int64_t want = requested[d] == -1 ? own : requested[d];
    REDES_CHECK(want == own || own == 1, "expand: cannot expand shape ", shape_str(shape()), " to ",
                shape_str(requested), " (dim ", d, " has size ", own, ", which is not 1)");
    shape_new[d] = want;
    strides_new[d] = want == own ? strides()[d - lead] : 0;
  }
  Tensor out = make_alias(*this, std::move(shape_new), std::move(strides_new), storage_offset());
  record_view("expand", out, *this, [base_shape = shape()](const Tensor& g, const std::vector<Tensor>&) {
    return std::vector<Tensor>{sum_to(g, base_shape)};
  });
  return out;
}

}  // namespace redes

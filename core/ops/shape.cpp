// Joining, splitting, padding, flipping and indexing.
#include <algorithm>
#include <numeric>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/tensor_impl.h"
#include "kernels/params.h"

namespace redes {

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  REDES_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors.front();
  detail::check_defined(first, "cat", "tensor 0");
  const std::int64_t axis = wrap_dim(dim, first.dim(), "cat");
  DType dtype = first.dtype();
  Shape shape = first.shape();
  shape[static_cast<std::size_t>(axis)] = 0;
  std::vector<const Tensor*> inputs;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::check_defined(t, "cat", "one of the tensors");
    REDES_CHECK(t.device() == first.device(), "cat: tensor ", i, " is on ", t.device().str(), ", tensor 0 on ",
                first.device().str());
    REDES_CHECK(t.dim() == first.dim(), "cat: tensor ", i, " has shape ", shape_str(t.shape()),
                ", expected ", first.dim(), " dims like tensor 0 ", shape_str(first.shape()));
    for (std::int64_t d = 0; d < t.dim(); ++d) {
      REDES_CHECK(d == axis || t.size(d) == first.size(d), "cat: tensor ", i, " has shape ", shape_str(t.shape()),
                  ", which differs from tensor 0 ", shape_str(first.shape()), " outside dim ", axis);
    }
    shape[static_cast<std::size_t>(axis)] += t.size(axis);
    dtype = promote_types(dtype, t.dtype());
    inputs.push_back(&t);
  }
  Tensor out = empty(shape, {dtype, first.device()});
  std::vector<std::int64_t> sizes;
  {
    NoGradGuard no_grad;
    std::int64_t offset = 0;
    for (const Tensor& t : tensors) {
      out.narrow(axis, offset, t.size(axis)).copy_(t);
      offset += t.size(axis);
      sizes.push_back(t.size(axis));
    }
  }
  if (std::any_of(tensors.begin(), tensors.end(), [](const Tensor& t) { return needs_grad({&t}); })) {
    std::vector<DType> dtypes;
    for (const Tensor& t : tensors) dtypes.push_back(t.dtype());
    record_op("cat", out, inputs, {}, [axis, sizes, dtypes](const Tensor& g, const std::vector<Tensor>&) {
      std::vector<Tensor> grads;
      std::int64_t offset = 0;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        grads.push_back(g.narrow(axis, offset, sizes[i]).to(dtypes[i]));
        offset += sizes[i];
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  REDES_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  detail::check_defined(tensors.front(), "stack", "tensor 0");
  const std::int64_t axis = wrap_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    detail::check_defined(tensors[i], "stack", "one of the tensors");
    REDES_CHECK(tensors[i].shape() == tensors.front().shape(), "stack: tensor ", i, " has shape ",
                shape_str(tensors[i].shape()), ", tensor 0 has ", shape_str(tensors.front().shape()));
    expanded.push_back(tensors[i].unsqueeze(axis));
  }
  return cat(expanded, axis);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim) {
  detail::check_defined(x, "split", "the input");
  REDES_CHECK(size > 0, "split: expected a positive piece size, got ", size);
  const std::int64_t axis = wrap_dim(dim, x.dim(), "split");
  std::vector<Tensor> pieces;
  for (std::int64_t start = 0; start < x.size(axis); start += size) {
    pieces.push_back(x.narrow(axis, start, std::min(size, x.size(axis) - start)));
  }
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  detail::check_defined(x, "chunk", "the input");
  REDES_CHECK(chunks > 0, "chunk: expected a positive number of chunks, got ", chunks);
  const std::int64_t length = x.size(wrap_dim(dim, x.dim(), "chunk"));
  return split(x, std::max<std::int64_t>((length + chunks - 1) / chunks, 1), dim);
}

std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim) {
  detail::check_defined(x, "unbind", "the input");
  const std::int64_t axis = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> slices;
  {
    NoGradGuard no_grad;  // one node below records them all
    for (std::int64_t i = 0; i < x.size(axis); ++i) slices.push_back(x.select(axis, i));
  }
  if (needs_grad({&x})) {
    record_multi_output_op("unbind", slices, {&x}, [axis, slice_shape = slices.empty() ? Shape{} : slices[0].shape(),
                                                    dtype = x.dtype(), device = x.device()](const std::vector<Tensor>& grads) {
      std::vector<Tensor> parts;
      for (const Tensor& g : grads) parts.push_back(g.defined() ? g : zeros(slice_shape, {dtype, device}));
      return std::vector<Tensor>{stack(parts, axis)};
    });
  }
  return slices;
}

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  detail::check_defined(x, "pad", "the input");
  REDES_CHECK(pads.size() % 2 == 0 && pads.size() / 2 <= static_cast<std::size_t>(x.dim()),
              "pad: expected (before, after) pairs for at most ", x.dim(), " dims, got ", pads.size(), " values");
  Shape shape = x.shape();
  for (std::size_t p = 0; p < pads.size(); ++p) {
    REDES_CHECK(pads[p] >= 0, "pad: expected non-negative padding, got ", pads[p], " at position ", p);
    shape[shape.size() - 1 - p / 2] += pads[p];
  }
  Tensor out = full(shape, value, {x.dtype(), x.device()});
  // The region of `out` that holds x.
  const auto interior = [pads](Tensor t) {
    for (std::size_t p = 0; p < pads.size(); p += 2) {
      const auto axis = static_cast<std::int64_t>(t.dim()) - 1 - static_cast<std::int64_t>(p / 2);
      t = t.narrow(axis, pads[p], t.size(axis) - pads[p] - pads[p + 1]);
    }
    return t;
  };
  {
    NoGradGuard no_grad;
    interior(out).copy_(x);
  }
  if (needs_grad({&x})) {
    record_op("pad", out, {&x}, {}, [interior](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{interior(g)};
    });
  }
  return out;
}

Tensor flip(const Tensor& x, const std::vector<std::int64_t>& dims) {
  detail::check_defined(x, "flip", "the input");
  Strides strides = x.strides();
  std::int64_t offset = x.storage_offset();
  std::vector<bool> seen(static_cast<std::size_t>(x.dim()), false);
  for (std::int64_t d : dims) {
    const auto axis = static_cast<std::size_t>(wrap_dim(d, x.dim(), "flip"));
    REDES_CHECK(!seen[axis], "flip: dim ", d, " appears more than once");
    seen[axis] = true;
    if (x.shape()[axis] == 0) continue;
    offset += (x.shape()[axis] - 1) * strides[axis];
    strides[axis] = -strides[axis];
  }
  Tensor out;
  {
    // A view with negative strides, copied at once so no user ever holds one.
    NoGradGuard no_grad;
    out = make_alias(x, x.shape(), strides, offset).clone();
  }
  if (needs_grad({&x})) {
    record_op("flip", out, {&x}, {}, [dims](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{flip(g, dims)};
    });
  }
  return out;
}

namespace {

void check_index(const Tensor& index, const char* op) {
  detail::check_defined(index, op, "the index");
  REDES_CHECK(index.dtype() == kInt64, op, ": expected an int64 index tensor, got ", dtype_name(index.dtype()));
}

}  // namespace

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined(x, "gather", "the input");
  check_index(index, "gather");
  const Device device = detail::common_device("gather", {&x, &index});
  const std::int64_t axis = wrap_dim(dim, x.dim(), "gather");
  REDES_CHECK(index.dim() == x.dim(), "gather: index has ", index.dim(), " dims, the input has ", x.dim());
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    REDES_CHECK(d == axis || index.size(d) <= x.size(d), "gather: index shape ", shape_str(index.shape()),
                " exceeds input shape ", shape_str(x.shape()), " in dim ", d);
  }
  Tensor out = empty(index.shape(), {x.dtype(), device});
  if (out.numel() > 0) {
    detail::launch(GatherParams{axis}, device, x.dtype(),
                   {detail::kernel_arg(out, "gather"), detail::kernel_arg(x, "gather"),
                    detail::kernel_arg(index, "gather")});
  }
  if (needs_grad({&x})) {
    record_op("gather", out, {&x}, {index},
              [axis, input_shape = x.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{scatter_add(zeros(input_shape, {g.dtype(), g.device()}), axis, saved[0], g)};
              });
  }
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  detail::check_defined(x, "scatter_add", "the input");
  detail::check_defined(src, "scatter_add", "the source");
  check_index(index, "scatter_add");
  const Device device = detail::common_device("scatter_add", {&x, &index, &src});
  const std::int64_t axis = wrap_dim(dim, x.dim(), "scatter_add");
  REDES_CHECK(index.dim() == x.dim() && src.shape() == index.shape(), "scatter_add: expected an index with ",
              x.dim(), " dims and a source of the index's shape, got index ", shape_str(index.shape()),
              " and source ", shape_str(src.shape()));
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    REDES_CHECK(d == axis || index.size(d) <= x.size(d), "scatter_add: index shape ", shape_str(index.shape()),
                " exceeds input shape ", shape_str(x.shape()), " in dim ", d);
  }
  Tensor out = x.detach().clone();
  const Tensor values = src.detach().to(x.dtype());
  if (index.numel() > 0) {
    detail::launch(ScatterAddParams{axis}, device, x.dtype(),
                   {detail::kernel_arg(out, "scatter_add"), detail::kernel_arg(index, "scatter_add"),
                    detail::kernel_arg(values, "scatter_add")});
  }
  if (needs_grad({&x, &src})) {
    record_op("scatter_add", out, {&x, &src}, {index}, [axis](const Tensor& g, const std::vector<Tensor>& saved) {
      return std::vector<Tensor>{g, gather(g, axis, saved[0])};
    });
  }
  return out;
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  detail::check_defined(x, "index_select", "the input");
  check_index(index, "index_select");
  REDES_CHECK(index.dim() <= 1, "index_select: expected a 1-D index, got shape ", shape_str(index.shape()));
  const std::int64_t axis = wrap_dim(dim, x.dim(), "index_select");
  Shape out_shape = x.shape();
  out_shape[static_cast<std::size_t>(axis)] = index.numel();
  Shape index_shape(static_cast<std::size_t>(x.dim()), 1);
  index_shape[static_cast<std::size_t>(axis)] = index.numel();
  // gather with the index broadcast (stride 0) across the other dims.
  return gather(x, axis, index.reshape(index_shape).expand(out_shape));
}

Tensor one_hot(const Tensor& index, std::int64_t classes) {
  check_index(index, "one_hot");
  REDES_CHECK(classes > 0, "one_hot: expected a positive number of classes, got ", classes);
  if (index.numel() > 0) {
    const double low = min(index).item(), high = max(index).item();
    REDES_CHECK(low >= 0 && high < static_cast<double>(classes), "one_hot: indices must lie in [0, ", classes,
                "), got values in [", low, ", ", high, "]");
  }
  return eq(index.unsqueeze(-1), arange(classes, {kInt64, index.device()})).to(kInt64);
}

}  // namespace redes

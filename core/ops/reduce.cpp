// Reduction front-ends: sum and mean over all or some dims, and sum_to.
#include <algorithm>

#include "core/autocast.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

// Which dims of an ndim tensor are reduced (all when `dims` is empty), one bit
// per dim.
class ReducedDims {
 public:
  ReducedDims(const std::vector<std::int64_t>& dims, std::int64_t ndim, const char* op) : ndim_(ndim) {
    REDES_CHECK(ndim <= 64, op, ": tensors of at most 64 dims are supported, got ", ndim);
    if (dims.empty()) bits_ = ndim == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << ndim) - 1;
    for (std::int64_t d : dims) {
      const auto axis = static_cast<std::size_t>(wrap_dim(d, ndim, op));
      REDES_CHECK(!(*this)[axis], op, ": dim ", d, " appears more than once");
      bits_ |= std::uint64_t{1} << axis;
    }
  }
  bool operator[](std::size_t d) const { return (bits_ >> d) & 1; }
  std::size_t size() const { return static_cast<std::size_t>(ndim_); }

 private:
  std::int64_t ndim_;
  std::uint64_t bits_ = 0;
};

// The contiguous `out` as a kernel sees it with `shape`, which has out's
// element count (the size-1 dims a reduction without keepdim drops).
TensorArg arg_with_shape(const Tensor& out, const Shape& shape, const char* op) {
  TensorArg arg = detail::kernel_arg(out, op);
  REDES_CHECK(shape.size() <= kMaxDims, op, ": tensors of at most ", kMaxDims, " dims are supported, got shape ",
              shape_str(shape));
  const Strides strides = contiguous_strides(shape);
  arg.ndim = static_cast<int>(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    arg.sizes[d] = shape[d];
    arg.strides[d] = strides[d];
  }
  return arg;
}

}  // namespace

Tensor sum(const Tensor& x_in, const std::vector<std::int64_t>& dims, bool keepdim) {
  detail::check_defined(x_in, "sum", "the input");
  // Under autocast a 16-bit sum returns float32 (as in PyTorch): it is
  // accumulated in double either way, and rounding the result to 16 bits
  // would lose what the wide accumulation kept.
  const Tensor x = detail::autocast_to_float32(x_in);
  REDES_CHECK(x.dtype() != kBool && x.dtype() != kUInt8, "sum: expected a float or int32/int64 tensor, got ",
              dtype_name(x.dtype()), " (convert with .to(kInt64) first)");
  const ReducedDims mask(dims, x.dim(), "sum");
  Shape kept_shape = x.shape();  // keepdim layout: 1 on reduced dims
  Shape result_shape;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) kept_shape[d] = 1;
    if (!mask[d] || keepdim) result_shape.push_back(kept_shape[d]);
  }
  // Made in its final shape; the kernel sees it in the keepdim layout.
  Tensor result = empty(result_shape, {x.dtype(), x.device()});
  if (x.numel() == 0) {
    result.zero_();
  } else {
    detail::launch(SumParams{}, x.device(), x.dtype(),
                   {arg_with_shape(result, kept_shape, "sum"), detail::kernel_arg(x, "sum")});
  }
  if (needs_grad({&x})) {
    record_op("sum", result, {&x}, {},
              [kept_shape, input_shape = x.shape()](const Tensor& g, const std::vector<Tensor>&) {
                // A sum of everything (0-d) or with keepdim expands as it is.
                const bool expands = g.dim() == 0 || g.shape() == kept_shape;
                return std::vector<Tensor>{(expands ? g : g.reshape(kept_shape)).expand(input_shape)};
              });
  }
  return result;
}

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  detail::check_defined(x, "mean", "the input");
  REDES_CHECK(is_floating(x.dtype()), "mean: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  const ReducedDims mask(dims, x.dim(), "mean");
  std::int64_t count = 1;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) count *= x.shape()[d];
  }
  return sum(x, dims, keepdim) / static_cast<double>(count);
}

Tensor mean(const Tensor& x) { return mean(x, {}, false); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  REDES_CHECK(shape.size() <= x.shape().size(), "sum_to: cannot sum shape ", shape_str(x.shape()), " to ",
              shape_str(shape), " (more dims)");
  const std::size_t lead = x.shape().size() - shape.size();
  std::vector<std::int64_t> dims;
  for (std::size_t d = 0; d < x.shape().size(); ++d) {
    if (d < lead) {
      dims.push_back(static_cast<std::int64_t>(d));
      continue;
    }
    REDES_CHECK(shape[d - lead] == x.shape()[d] || shape[d - lead] == 1, "sum_to: cannot sum shape ",
                shape_str(x.shape()), " to ", shape_str(shape));
    if (shape[d - lead] == 1 && x.shape()[d] != 1) dims.push_back(static_cast<std::int64_t>(d));
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

namespace {

// Max or min along one dim with indices; the values' gradient flows to the
// position of each extreme.
ValuesIndices arg_reduce(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  detail::check_defined(x, op, "the input");
  REDES_CHECK(x.dtype() != kBool && x.dtype() != kUInt8, op, ": expected a float or int32/int64 tensor, got ",
              dtype_name(x.dtype()));
  const std::int64_t axis = wrap_dim(dim, x.dim(), op);
  const Tensor input = x.dim() == 0 ? x.reshape({1}) : x;
  REDES_CHECK(input.size(axis) > 0, op, ": cannot reduce over dim ", axis, " of size 0 (shape ",
              shape_str(x.shape()), ")");
  Shape kept_shape = input.shape();
  kept_shape[static_cast<std::size_t>(axis)] = 1;
  Tensor values = empty(kept_shape, {x.dtype(), x.device()});
  Tensor indices = empty(kept_shape, {kInt64, x.device()});
  detail::launch(ArgReduceParams{axis, is_max}, x.device(), x.dtype(),
                 {detail::kernel_arg(values, op), detail::kernel_arg(indices, op), detail::kernel_arg(input, op)});
  if (needs_grad({&x})) {
    record_op(op, values, {&x}, {indices},
              [input_shape = x.shape(), axis](const Tensor& g, const std::vector<Tensor>& saved) {
                const Tensor positions = saved[0].reshape(g.shape());
                const Tensor grad = scatter_add(zeros(input_shape.empty() ? Shape{1} : input_shape,
                                                      {g.dtype(), g.device()}),
                                                axis, positions, g);
                return std::vector<Tensor>{grad.reshape(input_shape)};
              });
  }
  if (!keepdim && x.dim() > 0) {
    return {values.squeeze(axis), indices.squeeze(axis)};
  }
  if (x.dim() == 0) return {values.reshape({}), indices.reshape({})};
  return {values, indices};
}

}  // namespace

ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_reduce(x, dim, keepdim, true); }
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim) { return arg_reduce(x, dim, keepdim, false); }
Tensor max(const Tensor& x) { return arg_reduce(x.reshape({-1}), 0, false, true).values; }
Tensor min(const Tensor& x) { return arg_reduce(x.reshape({-1}), 0, false, false).values; }

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return arg_reduce(x, dim, keepdim, true).indices;
}

Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return arg_reduce(x, dim, keepdim, false).indices;
}

Tensor var(const Tensor& x_in, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  detail::check_defined(x_in, "var", "the input");
  const Tensor x = detail::autocast_to_float32(x_in);
  REDES_CHECK(is_floating(x.dtype()), "var: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  REDES_CHECK(correction >= 0, "var: expected correction >= 0, got ", correction);
  const ReducedDims mask(dims, x.dim(), "var");
  std::int64_t count = 1;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) count *= x.shape()[d];
  }
  REDES_CHECK(count > correction, "var: ", count, " elements per result cannot give a variance with correction ",
              correction);
  const Tensor centred = x - mean(x, dims, true);
  return sum(centred * centred, dims, keepdim) / static_cast<double>(count - correction);
}

Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

}  // namespace redes

// Reduction front-ends: sum and mean over all or some dims, and sum_to.
#include <algorithm>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "kernels/params.h"

namespace redes {

namespace {

// Which dims of an ndim tensor are reduced (all when `dims` is empty).
std::vector<bool> reduced_mask(const std::vector<std::int64_t>& dims, std::int64_t ndim, const char* op) {
  std::vector<bool> mask(static_cast<std::size_t>(ndim), dims.empty());
  for (std::int64_t d : dims) {
    const auto axis = static_cast<std::size_t>(wrap_dim(d, ndim, op));
    REDES_CHECK(!mask[axis], op, ": dim ", d, " appears more than once");
    mask[axis] = true;
  }
  return mask;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  detail::check_defined(x, "sum", "the input");
  REDES_CHECK(x.dtype() != kBool && x.dtype() != kUInt8, "sum: expected a float or int32/int64 tensor, got ",
              dtype_name(x.dtype()), " (convert with .to(kInt64) first)");
  const std::vector<bool> mask = reduced_mask(dims, x.dim(), "sum");
  Shape kept_shape = x.shape();  // keepdim layout: 1 on reduced dims
  Shape result_shape;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    if (mask[d]) kept_shape[d] = 1;
    if (!mask[d] || keepdim) result_shape.push_back(kept_shape[d]);
  }
  Tensor out = empty(kept_shape, {x.dtype(), x.device()});
  if (x.numel() == 0) {
    out.zero_();
  } else {
    detail::launch(SumParams{}, x.device(), x.dtype(), {detail::kernel_arg(out, "sum"), detail::kernel_arg(x, "sum")});
  }
  Tensor result = out.view(result_shape);
  if (needs_grad({&x})) {
    record_op("sum", result, {&x}, {},
              [kept_shape, input_shape = x.shape()](const Tensor& g, const std::vector<Tensor>&) {
                return std::vector<Tensor>{g.reshape(kept_shape).expand(input_shape)};
              });
  }
  return result;
}

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  detail::check_defined(x, "mean", "the input");
  REDES_CHECK(is_floating(x.dtype()), "mean: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  const std::vector<bool> mask = reduced_mask(dims, x.dim(), "mean");
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

}  // namespace redes

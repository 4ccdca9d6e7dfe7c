// Sorting and selection: sort, argsort, nonzero, masked_select, randperm.
// The sort and nonzero kernels run through the registry (std::stable_sort
// and a scan on the CPU, Thrust on CUDA); masked_select and randperm are
// built from them, so their gradients and devices come for free.
#include <cstdint>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/random.h"
#include "kernels/params.h"

namespace redes {

ValuesIndices sort(const Tensor& x, std::int64_t dim, bool descending) {
  detail::check_defined(x, "sort", "the input");
  REDES_CHECK(x.dtype() != kBool, "sort: expected a numeric tensor, got bool");
  if (x.dim() == 0) {
    // One element: itself, at position 0.
    ValuesIndices one{x.clone(), zeros({}, {kInt64, x.device()})};
    if (needs_grad({&x})) {
      record_op("sort", one.values, {&x}, {}, [](const Tensor& g, const std::vector<Tensor>&) {
        return std::vector<Tensor>{g};
      });
    }
    return one;
  }
  const std::int64_t axis = wrap_dim(dim, x.dim(), "sort");
  // The kernel sorts rows of a contiguous (rows, length) tensor: dim moves last.
  const Tensor rows_major = x.transpose(axis, x.dim() - 1).contiguous();
  const std::int64_t length = x.size(axis);
  const std::int64_t rows = length == 0 ? 0 : rows_major.numel() / length;
  Tensor values = empty(rows_major.shape(), {x.dtype(), x.device()});
  Tensor indices = empty(rows_major.shape(), {kInt64, x.device()});
  if (rows > 0) {
    const SortParams params{rows, length, descending};
    detail::launch(params, x.device(), x.dtype(),
                   {detail::kernel_arg(values, "sort"), detail::kernel_arg(indices, "sort"),
                    detail::kernel_arg(rows_major, "sort")});
  }
  values = values.transpose(axis, x.dim() - 1);
  indices = indices.transpose(axis, x.dim() - 1);
  if (needs_grad({&x})) {
    // Each value came from one position: its gradient goes back there.
    record_op("sort", values, {&x}, {indices},
              [axis, shape = x.shape()](const Tensor& g, const std::vector<Tensor>& saved) {
                return std::vector<Tensor>{scatter_add(zeros(shape, {g.dtype(), g.device()}), axis, saved[0], g)};
              });
  }
  return {values, indices};
}

Tensor argsort(const Tensor& x, std::int64_t dim, bool descending) {
  NoGradGuard no_grad;
  return sort(x, dim, descending).indices;
}

Tensor nonzero(const Tensor& x) {
  detail::check_defined(x, "nonzero", "the input");
  const Tensor dense = x.contiguous();
  Tensor coordinates = empty({x.numel(), x.dim()}, {kInt64, x.device()});
  std::int64_t count = 0;
  if (x.numel() > 0) {
    const NonzeroParams params{&count};
    detail::launch(params, x.device(), x.dtype(),
                   {detail::kernel_arg(coordinates, "nonzero"), detail::kernel_arg(dense, "nonzero")});
  }
  // The first `count` rows, in a tensor of their own size.
  return count == x.numel() ? coordinates : coordinates.narrow(0, 0, count).clone();
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  detail::check_defined(x, "masked_select", "the input");
  detail::check_defined(mask, "masked_select", "the mask");
  REDES_CHECK(mask.dtype() == kBool, "masked_select: expected a bool mask, got ", dtype_name(mask.dtype()));
  detail::common_device("masked_select", {&x, &mask});
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  const Tensor positions = nonzero(mask.expand(shape).reshape({-1})).reshape({-1});
  return index_select(x.expand(shape).reshape({-1}), 0, positions);
}

Tensor randperm(std::int64_t n, const TensorOptions& options, Generator* generator) {
  REDES_CHECK(n >= 0, "randperm: expected n >= 0, got ", n);
  REDES_CHECK(options.dtype.value_or(kInt64) == kInt64, "randperm: expected dtype int64, got ",
              dtype_name(*options.dtype));
  NoGradGuard no_grad;
  // Sorting by a random 64-bit key (two 32-bit draws, the second sorted
  // first, both sorts stable) gives every order alike, up to keys that tie
  // in all 64 bits; the draws are the same on every device.
  const Tensor bits = random_bits({2, n}, options.device, generator);
  const Tensor by_low = argsort(bits.select(0, 1));
  return index_select(by_low, 0, argsort(index_select(bits.select(0, 0), 0, by_low)));
}

}  // namespace redes

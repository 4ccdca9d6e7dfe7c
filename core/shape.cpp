#include "core/shape.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace redes {

std::int64_t numel_of(const Shape& shape) {
  std::int64_t count = 1;
  for (std::int64_t size : shape) {
    REDES_CHECK(size >= 0, "shape ", shape_str(shape), ": sizes must be non-negative");
    REDES_CHECK(size == 0 || count <= std::numeric_limits<std::int64_t>::max() / size, "shape ",
                shape_str(shape), ": element count overflows int64");
    count *= size;
  }
  return count;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) out << ',';
  out << ')';
  return out.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t ndim = std::max(a.size(), b.size());
  Shape result(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    const std::int64_t size_a = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const std::int64_t size_b = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    REDES_CHECK(size_a == size_b || size_a == 1 || size_b == 1, op, ": shapes ", shape_str(a),
                " and ", shape_str(b), " cannot be broadcast together (dim ", i, ": ", size_a,
                " vs ", size_b, ")");
    result[i] = size_a == 1 ? size_b : size_a;
  }
  return result;
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t low = ndim == 0 ? -1 : -ndim;
  const std::int64_t high = ndim == 0 ? 0 : ndim - 1;
  REDES_CHECK(dim >= low && dim <= high, op, ": dim ", dim, " is out of range for a tensor with ",
              ndim, " dims (expected ", low, "..", high, ")");
  return dim < 0 ? dim + std::max<std::int64_t>(ndim, 1) : dim;
}

}  // namespace redes

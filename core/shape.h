// Shapes and strides are small vectors of int64 sizes, counted in elements,
// held inline for up to six dims (core/dims.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dims.h"
#include "core/export.h"

namespace redes {

using Shape = Dims;
using Strides = Dims;

REDES_API std::int64_t numel_of(const Shape& shape);
// Row-major strides of a dense tensor of this shape.
REDES_API Strides contiguous_strides(const Shape& shape);
// "(2, 3, 4)"
REDES_API std::string shape_str(const Shape& shape);
// NumPy broadcasting of two shapes; `op` names the caller in the error.
REDES_API Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative dim into [0, ndim); throws with `op` in the message.
REDES_API std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

}  // namespace redes

#include "core/dtype.h"

#include <ostream>

#include "core/error.h"

namespace redes {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  detail::fail("dtype_name: unknown dtype code ", static_cast<int>(dtype));
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Int32: return 4;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  detail::fail("dtype_size: unknown dtype code ", static_cast<int>(dtype));
}

bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64 || dtype == DType::Float16 ||
         dtype == DType::BFloat16;
}

bool is_low_precision(DType dtype) { return dtype == DType::Float16 || dtype == DType::BFloat16; }

namespace {
int promotion_rank(DType dtype) {
  switch (dtype) {
    case DType::Bool: return 0;
    case DType::UInt8: return 1;
    case DType::Int32: return 2;
    case DType::Int64: return 3;
    case DType::Float16: return 4;
    case DType::BFloat16: return 4;
    case DType::Float32: return 5;
    case DType::Float64: return 6;
  }
  return -1;
}
}  // namespace

DType promote_types(DType a, DType b) {
  if (a != b && is_low_precision(a) && is_low_precision(b)) return DType::Float32;
  return promotion_rank(a) >= promotion_rank(b) ? a : b;
}

bool can_cast(DType from, DType to) {
  const auto category = [](DType dtype) { return dtype == DType::Bool ? 0 : (is_floating(dtype) ? 2 : 1); };
  return category(from) <= category(to);
}

std::ostream& operator<<(std::ostream& out, DType dtype) { return out << dtype_name(dtype); }

}  // namespace redes

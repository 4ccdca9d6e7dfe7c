// Element types. float16 and bfloat16 store 16-bit floats and compute in
// float32 (core/low_precision.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/export.h"
#include "core/low_precision.h"

namespace redes {

enum class DType : std::uint8_t { Float32, Float64, Int64, Int32, UInt8, Bool, Float16, BFloat16 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kBool = DType::Bool;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kBFloat16 = DType::BFloat16;

REDES_API const char* dtype_name(DType dtype);
REDES_API std::ostream& operator<<(std::ostream& out, DType dtype);
REDES_API std::size_t dtype_size(DType dtype);
REDES_API bool is_floating(DType dtype);
// float16 and bfloat16.
REDES_API bool is_low_precision(DType dtype);
// The type a binary op computes in: the "wider" of the two, floats above ints;
// float16 with bfloat16 gives float32 (neither holds the other), as in PyTorch.
REDES_API DType promote_types(DType a, DType b);
// Whether a value of `from` may be stored in `to` without losing its kind,
// as torch.can_cast: categories bool < integer < floating, and a cast may
// narrow within a category (float64 into float32) but not fall to a lower one.
REDES_API bool can_cast(DType from, DType to);

template <class T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<Float16> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <class T>
inline constexpr DType dtype_of_v = dtype_of<T>::value;

// Calls body(T{}) with T the C++ element type of `dtype`, and returns what it
// returns: one switch over the dtypes for code templated on the element type.
template <class Body>
decltype(auto) visit_dtype(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::Float32: return body(float{});
    case DType::Float64: return body(double{});
    case DType::Int64: return body(std::int64_t{});
    case DType::Int32: return body(std::int32_t{});
    case DType::UInt8: return body(std::uint8_t{});
    case DType::Bool: return body(bool{});
    case DType::Float16: return body(Float16{});
    case DType::BFloat16: return body(BFloat16{});
  }
  return body(float{});  // unreachable for a valid DType; keeps every path returning
}

}  // namespace redes

// Element types. float16/bfloat16 are reserved names: creating tensors of
// them is refused until kernels exist for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "core/export.h"

namespace redes {

enum class DType : std::uint8_t { Float32, Float64, Int64, Int32, UInt8, Bool, Float16, BFloat16 };

inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kBool = DType::Bool;

REDES_API const char* dtype_name(DType dtype);
REDES_API std::ostream& operator<<(std::ostream& out, DType dtype);
REDES_API std::size_t dtype_size(DType dtype);
REDES_API bool is_floating(DType dtype);
// True for the types tensors can be created with today.
REDES_API bool is_implemented(DType dtype);
// The type a binary op computes in: the "wider" of the two, floats above ints.
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
template <class T>
inline constexpr DType dtype_of_v = dtype_of<T>::value;

}  // namespace redes

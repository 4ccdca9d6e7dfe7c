// Tensor indexing as libtorch writes it:
//
//   using namespace redes::indexing;
//   x.index({Slice(1, None), 2})        // x[1:, 2]
//   x.index({"...", Slice(None, None, 2)})  // x[..., ::2]
//   x.index({None, 0})                  // x[None, 0]: a new dim of size 1, then row 0
//   x.index({index_tensor})             // int64 positions along dim 0 (index_select)
//   x.index({mask})                     // bool mask over the leading dims: the selected elements
//   x.index_put_({Slice(), 0}, 1.0)     // x[:, 0] = 1
//
// Integers, slices, None and "..." give views (no copy); a tensor index gives
// a copy. Every form is differentiable.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>

#include "core/export.h"
#include "core/tensor.h"

namespace redes::indexing {

// Where a Slice bound is omitted, and, as an index, a new dim of size 1.
inline constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {};
// As an index: as many full slices as the dims the other indices leave.
inline constexpr EllipsisIndexType Ellipsis{};

// start:stop:step; omitted bounds cover the whole dim, negative ones count
// from the end and out-of-range ones are clamped, as in Python.
class REDES_API Slice {
 public:
  Slice(std::optional<std::int64_t> start = std::nullopt, std::optional<std::int64_t> stop = std::nullopt,
        std::optional<std::int64_t> step = std::nullopt);
  std::optional<std::int64_t> start() const { return start_; }
  std::optional<std::int64_t> stop() const { return stop_; }
  std::int64_t step() const { return step_; }

 private:
  std::optional<std::int64_t> start_;
  std::optional<std::int64_t> stop_;
  std::int64_t step_;
};

class REDES_API TensorIndex {
 public:
  TensorIndex(std::nullopt_t) : value_(std::nullopt) {}
  TensorIndex(EllipsisIndexType) : value_(EllipsisIndexType{}) {}
  // "..." is the Ellipsis; any other string is refused.
  TensorIndex(const char* text);
  // Integers of any width, not bool (a bool index means something else in
  // PyTorch, and converting it silently to 0 or 1 would hide the mistake).
  template <class Integer>
    requires(std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>)
  TensorIndex(Integer position) : value_(static_cast<std::int64_t>(position)) {}
  TensorIndex(Slice slice) : value_(slice) {}
  TensorIndex(Tensor tensor) : value_(std::move(tensor)) {}

  bool is_none() const { return std::holds_alternative<std::nullopt_t>(value_); }
  bool is_ellipsis() const { return std::holds_alternative<EllipsisIndexType>(value_); }
  bool is_integer() const { return std::holds_alternative<std::int64_t>(value_); }
  bool is_slice() const { return std::holds_alternative<Slice>(value_); }
  bool is_tensor() const { return std::holds_alternative<Tensor>(value_); }
  std::int64_t integer() const { return std::get<std::int64_t>(value_); }
  const Slice& slice() const { return std::get<Slice>(value_); }
  const Tensor& tensor() const { return std::get<Tensor>(value_); }

 private:
  std::variant<std::nullopt_t, EllipsisIndexType, std::int64_t, Slice, Tensor> value_;
};

}  // namespace redes::indexing

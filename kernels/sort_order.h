// The order sort uses on every device: NaN greater than every number (so last
// ascending, first descending, as PyTorch sorts), the rest by value.
#pragma once

#include "core/low_precision.h"
#include "kernels/hd.h"

namespace redes {

template <class T>
REDES_HD bool is_nan_element(T x) {
  if constexpr (is_floating_element_v<T>) {
    const compute_type_t<T> v(x);
    return v != v;
  } else {
    return false;
  }
}

// Whether a comes strictly before b.
template <class T>
struct SortBefore {
  bool descending;
  REDES_HD bool operator()(T a, T b) const {
    const bool a_nan = is_nan_element(a), b_nan = is_nan_element(b);
    if (a_nan || b_nan) return descending ? a_nan && !b_nan : b_nan && !a_nan;
    using C = compute_type_t<T>;
    return descending ? C(b) < C(a) : C(a) < C(b);
  }
};

// Whether x counts as non-zero (NaN does, as in PyTorch).
template <class T>
REDES_HD bool is_nonzero_element(T x) {
  if constexpr (is_floating_element_v<T>) {
    return compute_type_t<T>(x) != compute_type_t<T>(0);
  } else {
    return x != T(0);
  }
}

}  // namespace redes

// The autocast setting (one per thread) and the casts the front-ends ask for.
#include "core/autocast.h"

#include "core/error.h"
#include "core/fast_tls.h"

namespace redes {

namespace {
REDES_FAST_TLS thread_local std::optional<DType> autocast_setting;
}  // namespace

autocast::autocast(DType dtype, bool enabled) : previous_(autocast_setting) {
  REDES_CHECK(is_low_precision(dtype), "autocast: expected bfloat16 or float16, got ", dtype_name(dtype));
  autocast_setting = enabled ? std::optional<DType>(dtype) : std::nullopt;
}

autocast::~autocast() { autocast_setting = previous_; }

std::optional<DType> autocast_dtype() { return autocast_setting; }

namespace detail {

Tensor autocast_to_low_precision(const Tensor& x) {
  if (!autocast_setting || !x.defined() || x.dtype() == *autocast_setting) return x;
  if (x.dtype() != kFloat32 && !is_low_precision(x.dtype())) return x;
  return x.to(*autocast_setting);
}

Tensor autocast_to_float32(const Tensor& x) {
  if (!autocast_setting || !x.defined() || !is_low_precision(x.dtype())) return x;
  return x.to(kFloat32);
}

}  // namespace detail

}  // namespace redes

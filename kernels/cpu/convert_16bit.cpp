#include "kernels/cpu/convert_16bit.h"

#include "kernels/cpu/vector_math.h"

namespace redes::cpu {

// Plain loops over the scalar conversions: with them inlined, GCC turns the
// integer rounding into SIMD code in each clone.

REDES_VECTOR_CLONES
void bfloat16_from_float(const float* in, BFloat16* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i].bits = low_precision::bfloat16_from_float(in[i]);
}

REDES_VECTOR_CLONES
void float_from_bfloat16(const BFloat16* in, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = low_precision::float_from_bfloat16(in[i].bits);
}

REDES_VECTOR_CLONES
void float16_from_float(const float* in, Float16* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i].bits = low_precision::float16_from_float(in[i]);
}

REDES_VECTOR_CLONES
void float_from_float16(const Float16* in, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = low_precision::float_from_float16(in[i].bits);
}

}  // namespace redes::cpu

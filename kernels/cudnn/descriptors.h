// RAII owners of cuDNN descriptors: each creates its descriptor in the
// constructor and destroys it in the destructor, so an error thrown between
// the two (a failed cudnnSet*, a failed kernel) leaks nothing.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <type_traits>

#include "core/low_precision.h"
#include "kernels/cudnn/api.h"
#include "kernels/cudnn/check.h"

namespace redes::cudnn {

// Create and Destroy name the Api members (&Api::cudnnCreateTensorDescriptor).
template <class Handle, auto Create, auto Destroy>
class Descriptor {
 public:
  explicit Descriptor(const char* op) { REDES_CUDNN_CHECK((api().*Create)(&handle_), op); }
  ~Descriptor() { (api().*Destroy)(handle_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Handle get() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

using TensorDescriptor =
    Descriptor<cudnnTensorDescriptor_t, &Api::cudnnCreateTensorDescriptor, &Api::cudnnDestroyTensorDescriptor>;
using FilterDescriptor =
    Descriptor<cudnnFilterDescriptor_t, &Api::cudnnCreateFilterDescriptor, &Api::cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor = Descriptor<cudnnConvolutionDescriptor_t, &Api::cudnnCreateConvolutionDescriptor,
                                         &Api::cudnnDestroyConvolutionDescriptor>;
using PoolingDescriptor =
    Descriptor<cudnnPoolingDescriptor_t, &Api::cudnnCreatePoolingDescriptor, &Api::cudnnDestroyPoolingDescriptor>;

template <class T>
constexpr cudnnDataType_t data_type() {
  if constexpr (std::is_same_v<T, BFloat16>) return CUDNN_DATA_BFLOAT16;
  if constexpr (std::is_same_v<T, Float16>) return CUDNN_DATA_HALF;
  static_assert(is_floating_element_v<T>, "cuDNN kernels here take floating types");
  return sizeof(T) == 4 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// The type cuDNN's alpha and beta take: float for every type but double.
template <class T>
using scaling_type_t = compute_type_t<T>;

// The legacy API takes int sizes and strides: the kernels' supports()
// predicates refuse anything larger.
inline bool fits_int(std::int64_t value) { return value >= 0 && value <= 0x7fffffff; }

}  // namespace redes::cudnn

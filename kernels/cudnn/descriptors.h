// RAII owners of cuDNN descriptors: each creates its descriptor in the
// constructor and destroys it in the destructor, so an error thrown between
// the two (a failed cudnnSet*, a failed kernel) leaks nothing.
#pragma once

#include <cudnn.h>

#include <cstdint>

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
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "cuDNN kernels here are float32 or float64");
  return sizeof(T) == 4 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

// The legacy API takes int sizes and strides: the kernels' supports()
// predicates refuse anything larger.
inline bool fits_int(std::int64_t value) { return value >= 0 && value <= 0x7fffffff; }

}  // namespace redes::cudnn

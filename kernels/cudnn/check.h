// Turns cuDNN status codes into redes::Error with the op, the call and
// file:line, as core/cuda/check.h does for the CUDA runtime. Only
// kernels/cudnn/ includes it.
#pragma once

#include <cudnn.h>

#include "core/error.h"
#include "kernels/cudnn/api.h"

namespace redes::detail {

inline void check_cudnn(cudnnStatus_t status, const char* op, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS) [[unlikely]] {
    // cuDNN 9 keeps a more specific message for the last failure.
    char detail[512] = {};
    cudnn::api().cudnnGetLastErrorString(detail, sizeof(detail));
    fail(op, ": cuDNN error ", cudnn::api().cudnnGetErrorString(status), " from ", call, " at ", file, ":", line,
         detail[0] != '\0' ? " (" : "", detail, detail[0] != '\0' ? ")" : "");
  }
}

}  // namespace redes::detail

#define REDES_CUDNN_CHECK(call, op) ::redes::detail::check_cudnn((call), (op), #call, __FILE__, __LINE__)

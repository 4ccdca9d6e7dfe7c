// cuDNN's entry points, resolved at run time from libcudnn.so.9 rather than
// linked: libredes starts (and the hand-written kernels serve) on machines
// where cuDNN is missing, too old or broken, and `redes info` says which.
//
// The kernel files call cuDNN only through api(), after their supports()
// predicate has asked usable() (kernels/cudnn/handle.h), which loads the
// library on first use.
#pragma once

#include <cudnn.h>

#include <string>

// Every cuDNN function redes calls. A function added to the kernel files must
// be added here; libredes links with --no-undefined, so a direct call fails
// to link instead of reintroducing the link-time dependency.
#define REDES_CUDNN_ENTRY_POINTS(X)                                                               \
  X(cudnnGetErrorString) X(cudnnGetLastErrorString) X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream) \
  X(cudnnCreateTensorDescriptor) X(cudnnDestroyTensorDescriptor) X(cudnnSetTensor4dDescriptor)       \
  X(cudnnSetTensor4dDescriptorEx) X(cudnnSetTensorNdDescriptor) X(cudnnAddTensor)                    \
  X(cudnnCreateFilterDescriptor) X(cudnnDestroyFilterDescriptor) X(cudnnSetFilter4dDescriptor)       \
  X(cudnnCreateConvolutionDescriptor) X(cudnnDestroyConvolutionDescriptor)                           \
  X(cudnnSetConvolution2dDescriptor) X(cudnnSetConvolutionGroupCount) X(cudnnSetConvolutionMathType) \
  X(cudnnGetConvolutionForwardAlgorithmMaxCount) X(cudnnFindConvolutionForwardAlgorithmEx)           \
  X(cudnnGetConvolutionForwardWorkspaceSize) X(cudnnConvolutionForward)                              \
  X(cudnnGetConvolutionBackwardDataAlgorithmMaxCount) X(cudnnFindConvolutionBackwardDataAlgorithmEx) \
  X(cudnnGetConvolutionBackwardDataWorkspaceSize) X(cudnnConvolutionBackwardData)                    \
  X(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount)                                              \
  X(cudnnFindConvolutionBackwardFilterAlgorithmEx) X(cudnnGetConvolutionBackwardFilterWorkspaceSize) \
  X(cudnnConvolutionBackwardFilter) X(cudnnCreatePoolingDescriptor) X(cudnnDestroyPoolingDescriptor) \
  X(cudnnSetPooling2dDescriptor) X(cudnnPoolingForward) X(cudnnPoolingBackward)                      \
  X(cudnnCreateRNNDescriptor) X(cudnnDestroyRNNDescriptor) X(cudnnSetRNNDescriptor_v8)               \
  X(cudnnCreateRNNDataDescriptor) X(cudnnDestroyRNNDataDescriptor) X(cudnnSetRNNDataDescriptor)      \
  X(cudnnCreateDropoutDescriptor) X(cudnnDestroyDropoutDescriptor) X(cudnnSetDropoutDescriptor)      \
  X(cudnnGetRNNWeightSpaceSize) X(cudnnGetRNNWeightParams) X(cudnnGetRNNTempSpaceSizes)              \
  X(cudnnRNNForward) X(cudnnRNNBackwardData_v8) X(cudnnRNNBackwardWeights_v8)

namespace redes::cudnn {

// One pointer per entry point, each of the type cudnn.h declares
// (decltype does not odr-use the declaration, so nothing is linked).
struct Api {
  std::size_t version = 0;  // cudnnGetVersion(): major * 10000 + minor * 100 + patch
  std::string path;         // the file the dynamic loader opened
#define REDES_CUDNN_POINTER(name) decltype(&::name) name = nullptr;
  REDES_CUDNN_ENTRY_POINTS(REDES_CUDNN_POINTER)
#undef REDES_CUDNN_POINTER
};

// The process's cuDNN, loaded on the first call from $REDES_CUDNN_LIBRARY
// when set, else libcudnn.so.9 by the loader's search and then from the
// directory the build found it in. Null when that failed; load_failure() says why.
const Api* loaded();
// Empty when loaded() is not null.
const std::string& load_failure();
// The loaded entry points; callers have checked usable(), so this cannot be null.
const Api& api();

// "9.1.0" for cudnnGetVersion()'s 90100 (major * 10000 + minor * 100 + patch).
std::string version_text(std::size_t version);

}  // namespace redes::cudnn

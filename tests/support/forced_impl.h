// Forcing one kernel implementation for a test's scope (KernelRegistry::force),
// so that each CUDA implementation is compared with the CPU reference, and
// setting the hand/cudnn/auto setting for a scope.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <redes.h>

#include "kernels/kernel_settings.h"
#include "kernels/registry.h"

namespace redes::testing {

class ForcedImpl {
 public:
  ForcedImpl(std::initializer_list<const char*> ops, const std::string& name) {
    for (const char* op : ops) force(op, name);
  }
  // Each (op, name) pair: an op forced to its own name.
  explicit ForcedImpl(const std::vector<std::pair<std::string, std::string>>& forced) {
    for (const auto& [op, name] : forced) force(op, name);
  }
  ~ForcedImpl() {
    for (const std::string& op : ops_) KernelRegistry::instance().force(op, "");
  }
  ForcedImpl(const ForcedImpl&) = delete;
  ForcedImpl& operator=(const ForcedImpl&) = delete;

 private:
  void force(const std::string& op, const std::string& name) {
    KernelRegistry::instance().force(op, name);
    ops_.push_back(op);
  }

  std::vector<std::string> ops_;
};

// Sets the kernel implementation setting and restores the previous one.
class ImplScope {
 public:
  explicit ImplScope(KernelImpl impl) : previous_(kernel_impl()) { set_kernel_impl(impl); }
  ~ImplScope() { set_kernel_impl(previous_); }
  ImplScope(const ImplScope&) = delete;
  ImplScope& operator=(const ImplScope&) = delete;

 private:
  KernelImpl previous_;
};

// The CUDA implementations of conv2d: the implicit GEMM, the direct
// one-thread-per-element kernels, and cuDNN.
inline std::vector<std::string> cuda_conv2d_implementations() {
  std::vector<std::string> names{"cuda.hand.igemm", "cuda.hand"};
  if (build_info().cudnn) names.push_back("cudnn");
  return names;
}

}  // namespace redes::testing

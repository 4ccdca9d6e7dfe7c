// The kernel registry: (op, device type, dtype) -> implementations.
//
// Every backend (cpu, cuda, cudnn) has one registration function that the
// registry calls the first time it is used; each kernel file contributes a
// `register_<backend>_<file>` function to it (CMake generates the list), so
// no static initialiser can be dropped by the linker.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/export.h"
#include "kernels/exec_context.h"
#include "kernels/tensor_arg.h"

namespace redes {

using KernelFn = void (*)(const void* params, const TensorArg* args, int nargs, const ExecContext& ctx);
using SupportsFn = bool (*)(const void* params, const TensorArg* args, int nargs);

struct KernelEntry {
  std::string op;
  DeviceType device = DeviceType::CPU;
  DType dtype = DType::Float32;
  std::string name;  // "cpu", "cuda.hand", "cudnn", ...
  int priority = 0;  // higher wins among entries that support the call
  SupportsFn supports = nullptr;  // null: supports everything
  KernelFn run = nullptr;
};

class REDES_API KernelRegistry {
 public:
  static KernelRegistry& instance();

  void add(KernelEntry entry);
  // The implementation to run: the forced one if set and supporting the call,
  // else the highest-priority supporting entry. Throws a redes::Error naming
  // the op, device and dtype when there is none.
  const KernelEntry& select(const std::string& op, Device device, DType dtype, const void* params,
                            const TensorArg* args, int nargs) const;
  std::vector<const KernelEntry*> candidates(const std::string& op, DeviceType device, DType dtype) const;
  std::vector<const KernelEntry*> all() const;
  // Forces the implementation called `name` for `op` ("" clears it).
  void force(const std::string& op, const std::string& name);

 private:
  KernelRegistry();
  std::unordered_map<std::string, std::vector<KernelEntry>> entries_;  // by op
  std::unordered_map<std::string, std::string> forced_;
  mutable std::mutex mutex_;
};

// Typed registration: `Fn` takes the op's params struct.
template <class Params, void (*Fn)(const Params&, const TensorArg*, int, const ExecContext&)>
void typed_kernel(const void* params, const TensorArg* args, int nargs, const ExecContext& ctx) {
  Fn(*static_cast<const Params*>(params), args, nargs, ctx);
}

template <class Params, void (*Fn)(const Params&, const TensorArg*, int, const ExecContext&)>
KernelEntry make_kernel(DeviceType device, DType dtype, const char* name, int priority = 0,
                        SupportsFn supports = nullptr) {
  return KernelEntry{Params::op, device, dtype, name, priority, supports, &typed_kernel<Params, Fn>};
}

// Backend registration functions (defined per backend; generated lists).
void register_cpu_kernels(KernelRegistry& registry);
#if defined(REDES_WITH_CUDA)
void register_cuda_kernels(KernelRegistry& registry);
#endif
#if defined(REDES_WITH_CUDNN)
void register_cudnn_kernels(KernelRegistry& registry);
#endif

}  // namespace redes

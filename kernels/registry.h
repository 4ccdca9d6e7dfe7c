// The kernel registry: (op, device type, dtype) -> implementations.
//
// Every backend (cpu, cuda, cudnn) has one registration function that the
// registry calls the first time it is used; each kernel file contributes a
// `register_<backend>_<file>` function to it (CMake generates the list), so
// no static initialiser can be dropped by the linker.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/export.h"
#include "kernels/exec_context.h"
#include "kernels/params_key.h"
#include "kernels/select.h"
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
  ParamsKeyFn params_key = nullptr;  // null: calls are never timed (kernels/select.h)
};

class REDES_API KernelRegistry {
 public:
  static KernelRegistry& instance();

  void add(KernelEntry entry);
  // The implementation to run: the forced one if set and supporting the call,
  // else the one the kernel_impl() setting picks among the supporting entries
  // (kernels/select.h; `ctx` lets auto time candidates, without it auto takes
  // the highest-priority one). Throws a redes::Error naming the op, device
  // and dtype when no entry supports the call.
  //
  // The hot path takes no lock and allocates nothing: the candidates of
  // (op, device type, dtype), forced choice applied, are resolved once into
  // a table read without locking (rebuilt after add() or force()); only
  // auto selection among several candidates on a device that times them
  // takes the lock, for its cache.
  const KernelEntry& select(const char* op, Device device, DType dtype, const void* params, const TensorArg* args,
                            int nargs, const ExecContext* ctx = nullptr) const;
  const KernelEntry& select(const std::string& op, Device device, DType dtype, const void* params,
                            const TensorArg* args, int nargs, const ExecContext* ctx = nullptr) const {
    return select(op.c_str(), device, dtype, params, args, nargs, ctx);
  }
  // Whether select() would find an implementation for this call (no error, no timing).
  bool supports(const std::string& op, Device device, DType dtype, const void* params, const TensorArg* args,
                int nargs) const;
  std::vector<const KernelEntry*> candidates(const std::string& op, DeviceType device, DType dtype) const;
  // Whether any implementation of `op` is registered for (device, dtype),
  // forced or not: candidates() is not empty. Lock-free, allocation-free
  // after the first call for the key (an op's name literal).
  bool has_candidates(const char* op, DeviceType device, DType dtype) const;
  std::vector<const KernelEntry*> all() const;
  // Forces the implementation called `name` for `op` ("" clears it).
  void force(const std::string& op, const std::string& name);
  // The forced implementation of `op`, or "".
  std::string forced(const std::string& op) const;

  // How auto selection runs candidates on `device` (set by the CUDA backend).
  void set_tuning_device(DeviceType device, std::unique_ptr<TuningDevice> tuning);
  // (key, implementation) of every call auto selection has timed.
  std::vector<std::pair<std::string, std::string>> tuned() const;

  // Auto selection between ways of computing something that is not one
  // kernel call (nn::LSTM: cuDNN's whole-sequence op or its per-step cells),
  // for `op` on ctx.device: the choice cached under `key`, else the one
  // pick_fastest() finds among `candidates` (the first is the reference),
  // cached and kept in the cache file like kernel choices. Returns the
  // chosen candidate's name; the first's on devices without a tuning
  // device. The candidates run without the registry's lock, since they call
  // kernels through it.
  std::string choose_alternative(const std::string& op, const std::string& key, DType dtype,
                                 const std::vector<TimedCandidate>& candidates, const ExecContext& ctx);

 private:
  KernelRegistry();

  // The resolved candidates of one (op, device type, dtype): immutable once
  // published in dispatch_, valid while `generation` is current.
  struct DispatchSlot {
    const char* op_pointer;  // the key as callers pass it (an op's name literal)
    std::string op;          // its text, compared too: a pointer may be reused for another name
    DeviceType device;
    DType dtype;
    std::uint64_t generation;
    bool forced;  // candidates holds the forced implementation only
    bool registered;  // some entry exists for the key, forced or not
    std::vector<const KernelEntry*> candidates;  // highest priority first
  };
  // The slot for this call's key, resolving it (under the lock) when it is
  // missing or stale; null when the table has no room near the key.
  const DispatchSlot* dispatch_slot(const char* op, DeviceType device, DType dtype) const;
  const DispatchSlot* resolve_slot(const char* op, DeviceType device, DType dtype) const;
  // The error for a call no candidate supports (with the lock held).
  [[noreturn]] void fail_unsupported(const char* op, Device device, DType dtype, const void* params,
                                     const TensorArg* args, int nargs) const;

  static constexpr std::size_t kDispatchSlots = 1024;  // a power of two; a few hundred keys exist
  static constexpr std::size_t kDispatchProbes = 8;
  mutable std::array<std::atomic<const DispatchSlot*>, kDispatchSlots> dispatch_{};
  mutable std::vector<std::unique_ptr<DispatchSlot>> slots_;  // every slot ever published, kept for readers
  std::atomic<std::uint64_t> generation_{1};                  // bumped by add() and force()

  std::unordered_map<std::string, std::vector<KernelEntry>> entries_;  // by op
  std::unordered_map<std::string, std::string> forced_;
  std::unique_ptr<TuningDevice> cuda_tuning_;
  std::atomic<TuningDevice*> cuda_tuning_view_{nullptr};  // cuda_tuning_, for select() without the lock
  mutable KernelSelector selector_;

  // With mutex_ held: the entries of `op` that can serve this call, highest
  // priority first, only `forced` when that is given (a buffer reused from
  // call to call); those whose supports() refused it go to `refused`.
  const std::vector<const KernelEntry*>& supporting_entries(const std::string& op, Device device, DType dtype,
                                                            const void* params, const TensorArg* args, int nargs,
                                                            const std::string* forced,
                                                            std::vector<std::string>* refused) const;
  // With mutex_ held: the implementation forced for `op`, or null.
  const std::string* forced_name(const std::string& op) const;
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
  return KernelEntry{Params::op, device, dtype, name, priority, supports, &typed_kernel<Params, Fn>,
                     params_key_function<Params>()};
}

// Backend registration functions (defined per backend; generated lists).
void register_cpu_kernels(KernelRegistry& registry);
#if defined(REDES_WITH_CUDA)
void register_cuda_kernels(KernelRegistry& registry);
#endif
#if defined(REDES_WITH_CUDNN)
void register_cudnn_kernels(KernelRegistry& registry);
#endif
#if defined(REDES_WITH_ONEDNN)
void register_onednn_kernels(KernelRegistry& registry);
#endif

}  // namespace redes

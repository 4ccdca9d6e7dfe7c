// Which implementation of an op runs for one call (the "select" step of the
// registry). Device-independent: the only device-specific part, running and
// timing a candidate and reading its output back, sits behind TuningDevice,
// so the policy, the cache and the disagreement handling are tested on the
// CPU with fake candidates.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/export.h"
#include "kernels/exec_context.h"
#include "kernels/kernel_settings.h"
#include "kernels/tensor_arg.h"

namespace redes {

struct KernelEntry;

// One kernel call as the registry sees it.
struct KernelCall {
  std::string op;
  Device device;
  DType dtype = DType::Float32;
  const void* params = nullptr;
  const TensorArg* args = nullptr;
  int nargs = 0;
};

// Runs candidates for auto selection on one device type.
class TuningDevice {
 public:
  virtual ~TuningDevice() = default;
  // Runs `entry` once on the call's arguments; returns its time in milliseconds.
  virtual double run_timed(const KernelEntry& entry, const KernelCall& call, const ExecContext& ctx) = 0;
  // The values of a contiguous float32 or float64 output, on the host.
  virtual std::vector<double> read(const TensorArg& arg) = 0;
  // What the timings depend on besides the call (GPU, driver and library
  // versions): choices kept in a file are reused only under the same one.
  virtual std::string signature(const ExecContext& ctx) = 0;
};

// True for implementations backed by cuDNN (name "cudnn" or "cudnn.*").
REDES_API bool is_cudnn_implementation(const std::string& name);

// The entry `impl` prefers among `candidates` (priority order, all assumed
// to support the call): hand -> the first not backed by cuDNN, cudnn -> the
// first backed by cuDNN; either falls back to the first. Auto prefers the
// first (what runs when a call cannot be timed). Null when there are none.
REDES_API const KernelEntry* preferred_entry(KernelImpl impl, const std::vector<const KernelEntry*>& candidates);

// The auto-selection cache key of a call: op, device, dtype, the settings
// that change what an implementation computes, the params and every
// argument's dtype, sizes and strides. Empty when `entry` cannot key its
// params (then the call is not timed).
REDES_API std::string selection_key(const KernelEntry& entry, const KernelCall& call);

class REDES_API KernelSelector {
 public:
  KernelSelector();

  // The implementation to run among `supporting` (priority order, non-empty).
  // Under auto, a call whose op overwrites its outputs (see set_timed_outputs)
  // and whose key is new runs every candidate on `device`: each output is
  // compared with the first candidate's, a candidate that disagrees beyond
  // the dtype's tolerance (or throws) is dropped with one line on stderr,
  // and the fastest (median of three timed runs after the checked one) is
  // cached under the key.
  const KernelEntry& choose(const KernelCall& call, const std::vector<const KernelEntry*>& supporting,
                            TuningDevice* device, const ExecContext* ctx);

  // Ops whose first `outputs` args are outputs that every run overwrites,
  // so that a candidate can be rerun; other ops are never timed.
  void set_timed_outputs(const std::string& op, int outputs);

  // Also keeps auto choices in the file at `path` (one line each: signature,
  // key and implementation, tab-separated, appended as they are made), so
  // that a later process on the same GPU, driver and libraries reuses them
  // instead of timing again; "" keeps them in memory only. The default is
  // $REDES_KERNEL_CACHE.
  void set_cache_file(std::string path);

  // (key, chosen implementation) of every call timed so far.
  std::vector<std::pair<std::string, std::string>> tuned() const;
  void clear();

 private:
  const KernelEntry& tune(const std::string& key, const KernelCall& call,
                          const std::vector<const KernelEntry*>& supporting, int outputs, TuningDevice& device,
                          const ExecContext& ctx);
  void warn_once(const std::string& op, const std::string& name, const std::string& message);
  void load_file(const std::string& signature);
  void append_to_file(const std::string& signature, const std::string& key, const std::string& name) const;

  std::unordered_map<std::string, int> timed_outputs_;
  std::unordered_map<std::string, std::string> cache_;  // key -> implementation name
  std::set<std::string> warned_;                        // "op/name" already reported
  std::string cache_path_;
  std::set<std::string> loaded_signatures_;  // read from cache_path_ already
};

}  // namespace redes

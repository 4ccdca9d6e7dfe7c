// Which implementation of an op runs for one call (the "select" step of the
// registry). Device-independent: the only device-specific part, running and
// timing a candidate and reading its output back, sits behind TuningDevice,
// so the policy, the cache and the disagreement handling are tested on the
// CPU with fake candidates.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
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

// One way of computing something, as auto selection tries it: `run` does
// the whole computation once and returns its time in milliseconds; `read`
// gives the outputs of the last run, on the host.
struct TimedCandidate {
  std::string name;
  std::function<double()> run;
  std::function<std::vector<std::vector<double>>()> read;
};

// Runs each candidate once, checks its outputs against the first candidate
// that ran (tolerance by `dtype`), then times three more runs. Returns the
// index of the fastest by median among those that agree; a candidate that
// throws a redes::Error or disagrees is passed to `reject` with the reason.
// nullopt when none is left.
REDES_API std::optional<std::size_t> pick_fastest(
    const std::vector<TimedCandidate>& candidates, DType dtype,
    const std::function<void(const std::string& name, const std::string& why)>& reject);

// True for implementations backed by cuDNN (name "cudnn" or "cudnn.*").
REDES_API bool is_cudnn_implementation(const std::string& name);
// True for implementations backed by a vendor library: cuDNN or oneDNN
// ("onednn" or "onednn.*").
REDES_API bool is_vendor_implementation(const std::string& name);

// The entry `impl` prefers among `candidates` (priority order, all assumed
// to support the call): hand -> the first not backed by a vendor library,
// vendor -> the first backed by one; either falls back to the first. Auto prefers the
// first (what runs when a call cannot be timed). Null when there are none.
REDES_API const KernelEntry* preferred_entry(KernelImpl impl, std::span<const KernelEntry* const> candidates);
inline const KernelEntry* preferred_entry(KernelImpl impl, const std::vector<const KernelEntry*>& candidates) {
  return preferred_entry(impl, std::span<const KernelEntry* const>(candidates));
}

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

  // The auto choice cached under `key`, if any (reading the cache file's
  // lines of this device's signature first), and the signature to store a
  // new choice under ("" when there is no cache file).
  std::pair<std::optional<std::string>, std::string> lookup(const std::string& key, TuningDevice& device,
                                                            const ExecContext& ctx);
  // Caches `name` under `key`, and appends it to the cache file under `signature`.
  void store(const std::string& key, const std::string& name, const std::string& signature);
  // Prints why `name` is not used for `op`, once per (op, name).
  void warn_once(const std::string& op, const std::string& name, const std::string& message);

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
  void load_file(const std::string& signature);
  void append_to_file(const std::string& signature, const std::string& key, const std::string& name) const;

  std::unordered_map<std::string, int> timed_outputs_;
  std::unordered_map<std::string, std::string> cache_;  // key -> implementation name
  std::set<std::string> warned_;                        // "op/name" already reported
  std::string cache_path_;
  std::set<std::string> loaded_signatures_;  // read from cache_path_ already
};

}  // namespace redes

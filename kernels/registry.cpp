#include "kernels/registry.h"

#include <algorithm>
#include <span>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"
#include "kernels/backend_status.h"

namespace redes {

namespace {
const char* device_type_name(DeviceType type) { return type == DeviceType::CPU ? "cpu" : "cuda"; }
}  // namespace

#if !defined(REDES_WITH_CUDNN)
// With cuDNN, kernels/cudnn/handle.cpp and loader.cpp answer.
std::string cudnn_unusable_reason() { return "this build has no cuDNN"; }
std::string cudnn_library_problem(const std::string&) { return "this build has no cuDNN"; }
#endif

#if !defined(REDES_WITH_ONEDNN)
// With oneDNN, kernels/onednn/onednn.cpp answers.
std::string detail::onednn_library_version() { return ""; }
std::string detail::onednn_cpu_description() { return ""; }
#endif

KernelRegistry::KernelRegistry() {
  register_cpu_kernels(*this);
#if defined(REDES_WITH_CUDA)
  register_cuda_kernels(*this);
#endif
#if defined(REDES_WITH_CUDNN)
  register_cudnn_kernels(*this);
#endif
#if defined(REDES_WITH_ONEDNN)
  register_onednn_kernels(*this);
#endif
}

KernelRegistry& KernelRegistry::instance() {
  static KernelRegistry* registry = new KernelRegistry();
  return *registry;
}

void KernelRegistry::add(KernelEntry entry) {
  std::lock_guard lock(mutex_);
  std::vector<KernelEntry>& list = entries_[entry.op];
  for (const KernelEntry& existing : list) {
    REDES_CHECK(!(existing.device == entry.device && existing.dtype == entry.dtype &&
                  existing.name == entry.name),
                "kernel registry: \"", entry.name, "\" registered twice for ", entry.op, " on ",
                device_type_name(entry.device), " ", dtype_name(entry.dtype));
  }
  list.push_back(std::move(entry));
  // Highest priority first, so select() takes the first supporting entry.
  std::stable_sort(list.begin(), list.end(),
                   [](const KernelEntry& a, const KernelEntry& b) { return a.priority > b.priority; });
  generation_.fetch_add(1, std::memory_order_acq_rel);  // resolved candidate lists are stale now
}

const std::vector<const KernelEntry*>& KernelRegistry::supporting_entries(const std::string& op, Device device,
                                                                          DType dtype, const void* params,
                                                                          const TensorArg* args, int nargs,
                                                                          const std::string* forced,
                                                                          std::vector<std::string>* refused) const {
  // Reused under the lock: select() runs for every kernel call, and most
  // calls have a single candidate, so it should not allocate.
  // Never destroyed, like the registry itself.
  static auto* reused = new std::vector<const KernelEntry*>();
  std::vector<const KernelEntry*>& supporting = *reused;
  supporting.clear();
  const auto found = entries_.find(op);
  if (found == entries_.end()) return supporting;
  for (const KernelEntry& entry : found->second) {
    if (entry.device != device.type || entry.dtype != dtype) continue;
    if (forced != nullptr && entry.name != *forced) continue;
    if (entry.supports == nullptr || entry.supports(params, args, nargs)) {
      supporting.push_back(&entry);
    } else if (refused != nullptr) {
      refused->push_back(entry.name);
    }
  }
  return supporting;
}

const std::string* KernelRegistry::forced_name(const std::string& op) const {
  const auto forced = forced_.find(op);
  return forced == forced_.end() ? nullptr : &forced->second;
}

namespace {

// Where a key's probe sequence starts: the op's name pointer (callers pass
// the op's literal, Params::op) mixed with device type and dtype.
std::size_t slot_hash(const char* op, DeviceType device, DType dtype) {
  std::uint64_t h = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(op));
  h ^= (static_cast<std::uint64_t>(device) << 8 | static_cast<std::uint64_t>(dtype)) * 0xC2B2AE3D27D4EB4FULL;
  h *= 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

}  // namespace

const KernelRegistry::DispatchSlot* KernelRegistry::dispatch_slot(const char* op, DeviceType device,
                                                                  DType dtype) const {
  const std::uint64_t generation = generation_.load(std::memory_order_acquire);
  const std::size_t start = slot_hash(op, device, dtype);
  for (std::size_t probe = 0; probe < kDispatchProbes; ++probe) {
    const DispatchSlot* slot = dispatch_[(start + probe) & (kDispatchSlots - 1)].load(std::memory_order_acquire);
    if (slot == nullptr) break;
    if (slot->op_pointer == op && slot->device == device && slot->dtype == dtype && slot->op == op) {
      if (slot->generation == generation) return slot;
      break;  // stale: resolved before an add() or force()
    }
  }
  return resolve_slot(op, device, dtype);
}

const KernelRegistry::DispatchSlot* KernelRegistry::resolve_slot(const char* op, DeviceType device,
                                                                 DType dtype) const {
  std::lock_guard lock(mutex_);
  auto slot = std::make_unique<DispatchSlot>();
  slot->op_pointer = op;
  slot->op = op;
  slot->device = device;
  slot->dtype = dtype;
  slot->generation = generation_.load(std::memory_order_acquire);
  const std::string* forced = forced_name(slot->op);
  slot->forced = forced != nullptr;
  if (const auto found = entries_.find(slot->op); found != entries_.end()) {
    for (const KernelEntry& entry : found->second) {
      if (entry.device != device || entry.dtype != dtype) continue;
      slot->registered = true;
      if (forced != nullptr && entry.name != *forced) continue;
      slot->candidates.push_back(&entry);
    }
  }
  // Published where the key's probe sequence finds it: over its own stale
  // slot, or in the first empty place.
  const std::size_t start = slot_hash(op, device, dtype);
  for (std::size_t probe = 0; probe < kDispatchProbes; ++probe) {
    std::atomic<const DispatchSlot*>& place = dispatch_[(start + probe) & (kDispatchSlots - 1)];
    const DispatchSlot* current = place.load(std::memory_order_relaxed);
    const bool same_key = current != nullptr && current->op_pointer == op && current->device == device &&
                          current->dtype == dtype && current->op == op;
    if (current != nullptr && !same_key) continue;
    place.store(slot.get(), std::memory_order_release);
    slots_.push_back(std::move(slot));
    return slots_.back().get();
  }
  return nullptr;  // no room near this key: the caller selects under the lock
}

const KernelEntry& KernelRegistry::select(const char* op, Device device, DType dtype, const void* params,
                                          const TensorArg* args, int nargs, const ExecContext* ctx) const {
  if (const DispatchSlot* slot = dispatch_slot(op, device.type, dtype)) {
    // The candidates that support this call, on the stack.
    std::array<const KernelEntry*, 8> found{};
    std::size_t count = 0;
    bool overflow = false;
    for (const KernelEntry* entry : slot->candidates) {
      if (entry->supports != nullptr && !entry->supports(params, args, nargs)) continue;
      if (count == found.size()) {
        overflow = true;
        break;
      }
      found[count++] = entry;
    }
    if (!overflow) {
      if (count == 0) {
        std::lock_guard lock(mutex_);
        fail_unsupported(op, device, dtype, params, args, nargs);
      }
      if (slot->forced || count == 1) return *found[0];
      const KernelImpl impl = kernel_impl();
      TuningDevice* tuning = device.type == DeviceType::CUDA ? cuda_tuning_view_.load(std::memory_order_acquire)
                                                             : nullptr;
      const std::span<const KernelEntry* const> supporting(found.data(), count);
      if (impl != KernelImpl::Auto || tuning == nullptr || ctx == nullptr) return *preferred_entry(impl, supporting);
      // Auto selection times candidates and keeps a cache: under the lock.
      std::lock_guard lock(mutex_);
      return selector_.choose(KernelCall{op, device, dtype, params, args, nargs},
                              std::vector<const KernelEntry*>(supporting.begin(), supporting.end()), tuning, ctx);
    }
  }
  std::lock_guard lock(mutex_);
  const std::string name = op;
  const std::string* forced = forced_name(name);
  const std::vector<const KernelEntry*>& supporting =
      supporting_entries(name, device, dtype, params, args, nargs, forced, nullptr);
  if (supporting.empty()) fail_unsupported(op, device, dtype, params, args, nargs);
  if (forced != nullptr || supporting.size() == 1) return *supporting.front();
  TuningDevice* tuning = device.type == DeviceType::CUDA ? cuda_tuning_.get() : nullptr;
  return selector_.choose(KernelCall{op, device, dtype, params, args, nargs}, supporting, tuning, ctx);
}

void KernelRegistry::fail_unsupported(const char* op, Device device, DType dtype, const void* params,
                                      const TensorArg* args, int nargs) const {
  const std::string name = op;
  const std::string* forced = forced_name(name);
  std::vector<std::string> refused;
  supporting_entries(name, device, dtype, params, args, nargs, forced, &refused);
  std::ostringstream message;
  message << op << ": no kernel for " << dtype_name(dtype) << " tensors on " << device.str();
  if (forced != nullptr) message << " with implementation \"" << *forced << "\" forced";
  if (!refused.empty()) {
    message << " (implementations that refused these arguments:";
    for (const std::string& refusal : refused) message << ' ' << refusal;
    message << ')';
  }
  throw Error(message.str());
}

bool KernelRegistry::supports(const std::string& op, Device device, DType dtype, const void* params,
                              const TensorArg* args, int nargs) const {
  std::lock_guard lock(mutex_);
  return !supporting_entries(op, device, dtype, params, args, nargs, forced_name(op), nullptr).empty();
}

std::vector<const KernelEntry*> KernelRegistry::candidates(const std::string& op, DeviceType device,
                                                           DType dtype) const {
  std::lock_guard lock(mutex_);
  std::vector<const KernelEntry*> result;
  auto found = entries_.find(op);
  if (found == entries_.end()) return result;
  for (const KernelEntry& entry : found->second) {
    if (entry.device == device && entry.dtype == dtype) result.push_back(&entry);
  }
  return result;
}

bool KernelRegistry::has_candidates(const char* op, DeviceType device, DType dtype) const {
  if (const DispatchSlot* slot = dispatch_slot(op, device, dtype)) return slot->registered;
  return !candidates(op, device, dtype).empty();
}

std::vector<const KernelEntry*> KernelRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<const KernelEntry*> result;
  for (const auto& [op, list] : entries_) {
    for (const KernelEntry& entry : list) result.push_back(&entry);
  }
  std::sort(result.begin(), result.end(), [](const KernelEntry* a, const KernelEntry* b) {
    return std::tie(a->op, a->device, a->dtype, a->name) < std::tie(b->op, b->device, b->dtype, b->name);
  });
  return result;
}

void KernelRegistry::force(const std::string& op, const std::string& name) {
  std::lock_guard lock(mutex_);
  generation_.fetch_add(1, std::memory_order_acq_rel);  // resolved candidate lists are stale now
  if (name.empty()) {
    forced_.erase(op);
    return;
  }
  auto found = entries_.find(op);
  bool known = false;
  if (found != entries_.end()) {
    for (const KernelEntry& entry : found->second) known = known || entry.name == name;
  }
  REDES_CHECK(known, "kernel registry: cannot force \"", name, "\" for op \"", op,
              "\": no implementation of that name is registered");
  forced_[op] = name;
}

std::string KernelRegistry::forced(const std::string& op) const {
  std::lock_guard lock(mutex_);
  const std::string* name = forced_name(op);
  return name == nullptr ? std::string() : *name;
}

void KernelRegistry::set_tuning_device(DeviceType device, std::unique_ptr<TuningDevice> tuning) {
  REDES_CHECK(device == DeviceType::CUDA, "kernel registry: automatic selection times kernels on CUDA devices only");
  std::lock_guard lock(mutex_);
  cuda_tuning_ = std::move(tuning);
  cuda_tuning_view_.store(cuda_tuning_.get(), std::memory_order_release);
}

std::string KernelRegistry::choose_alternative(const std::string& op, const std::string& key, DType dtype,
                                              const std::vector<TimedCandidate>& candidates,
                                              const ExecContext& ctx) {
  REDES_CHECK(!candidates.empty(), op, ": no way to choose from");
  std::string signature;
  {
    std::lock_guard lock(mutex_);
    TuningDevice* tuning = ctx.device.type == DeviceType::CUDA ? cuda_tuning_.get() : nullptr;
    if (tuning == nullptr) return candidates.front().name;
    auto [cached, cache_signature] = selector_.lookup(key, *tuning, ctx);
    for (const TimedCandidate& candidate : candidates) {
      if (cached && candidate.name == *cached) return candidate.name;
    }
    signature = std::move(cache_signature);
  }
  const std::optional<std::size_t> best =
      pick_fastest(candidates, dtype, [&](const std::string& name, const std::string& why) {
        std::lock_guard lock(mutex_);
        selector_.warn_once(op, name, why + " for " + key);
      });
  REDES_CHECK(best.has_value(), op, ": every way failed during automatic selection (", candidates.size(),
              " tried; see the messages above)");
  std::lock_guard lock(mutex_);
  selector_.store(key, candidates[*best].name, signature);
  return candidates[*best].name;
}

std::vector<std::pair<std::string, std::string>> KernelRegistry::tuned() const {
  std::lock_guard lock(mutex_);
  return selector_.tuned();
}

}  // namespace redes
